import subprocess, sys
f = sys.argv[1]
out = subprocess.run(["tshark","-r",f,"-d","tcp.port==80,http2","-d","tcp.port==8080,http2","-Y","http2.type==1","-T","fields",
    "-e","tcp.stream","-e","http2.streamid","-e","http2.headers.method","-e","http2.headers.path","-e","http2.headers.authority","-e","http2.headers.status",
    "-E","occurrence=a","-E","aggregator=|"], capture_output=True, text=True).stdout
reqs = {}  # (tcp, sid) -> [method, path, auth, status]
order = []
for line in out.splitlines():
    c = line.split("\t")
    while len(c) < 6: c.append("")
    tcp, sids = c[0], c[1].split("|")
    meth, path, auth, st = [x.split("|") if x else [] for x in c[2:6]]
    if meth:
        assert len(meth) == len(sids) or len(set(sids)) == 1, line
        for i, m in enumerate(meth):
            k = (tcp, sids[min(i, len(sids)-1)])
            reqs[k] = [m, path[i] if i < len(path) else "", auth[i] if i < len(auth) else "", ""]
            order.append(k)
    if st:
        # status frames: each HEADERS frame with :status, in frame order
        fr = [s for s in sids]
        if len(st) == len(fr):
            for s, sid in zip(st, fr):
                k = (tcp, sid)
                if k in reqs and reqs[k][3] == "" and not s.startswith("1"):
                    reqs[k][3] = s
        else:
            assert len(set(fr)) == 1, line
            k = (tcp, fr[0])
            for s in st:
                if k in reqs and reqs[k][3] == "" and not s.startswith("1"):
                    reqs[k][3] = s
for k in order:
    print("\t".join(reqs[k]))

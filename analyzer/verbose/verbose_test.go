package verbose

import (
	"bytes"
	"encoding/json"
	"html"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

// leakCase is a realistic error text, written from what these errors look
// like in the wild. at, when set, is a substring whose first occurrence is
// where the evidence must start.
type leakCase struct {
	name string
	kind Kind
	tech string
	text string
	at   string
	// native: the text is a whole body in its own format (an HTML page,
	// a JSON document) and is not re-wrapped.
	native bool
}

var leakCases = []leakCase{
	// --- JVM -------------------------------------------------------------
	{name: "java_npe", kind: StackTrace, tech: "java", at: "at com.acme", text: `java.lang.NullPointerException: Cannot invoke "String.length()" because "name" is null
	at com.acme.shop.service.CustomerService.normalize(CustomerService.java:57)
	at com.acme.shop.web.CustomerController.create(CustomerController.java:33)
	at java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
	at java.base/java.lang.reflect.Method.invoke(Method.java:580)
`},
	{name: "java_spring_json_trace", kind: StackTrace, tech: "java", native: true, text: `{"timestamp":"2024-03-05T10:15:30.123+00:00","status":500,"error":"Internal Server Error","trace":"java.lang.IllegalStateException: order 42 has no lines\n\tat com.acme.orders.OrderService.total(OrderService.java:118)\n\tat com.acme.orders.OrderController.get(OrderController.java:54)\n\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n","message":"order 42 has no lines","path":"/api/orders/42"}`},
	{name: "java_tomcat_report", kind: StackTrace, tech: "java", native: true, text: `<!doctype html><html lang="en"><head><title>HTTP Status 500 – Internal Server Error</title></head><body><h1>HTTP Status 500 – Internal Server Error</h1><hr class="line" /><p><b>Type</b> Exception Report</p><p><b>Message</b> / by zero</p><p><b>Description</b> The server encountered an unexpected condition that prevented it from fulfilling the request.</p><p><b>Exception</b></p><pre>java.lang.ArithmeticException: / by zero
	org.apache.jsp.report_jsp._jspService(report_jsp.java:131)
	org.apache.jasper.runtime.HttpJspBase.service(HttpJspBase.java:70)
	javax.servlet.http.HttpServlet.service(HttpServlet.java:764)
</pre><p><b>Note</b> The full stack trace of the root cause is available in the server logs.</p><hr class="line" /><h3>Apache Tomcat/9.0.83</h3></body></html>`},
	{name: "java_caused_by", kind: StackTrace, tech: "java", at: "Caused by", text: `Request processing failed: org.springframework.web.client.ResourceAccessException: I/O error on GET request
Caused by: org.acme.billing.InvoiceLockedException: invoice 42 is locked by another session`},
	{name: "kotlin", kind: StackTrace, tech: "java", text: `kotlin.KotlinNullPointerException
	at com.acme.api.UserHandler.handle(UserHandler.kt:27)
	at com.acme.api.Router$route$1.invokeSuspend(Router.kt:88)
`},
	{name: "java_jackson_elements", kind: StackTrace, tech: "java", native: true, text: `{"cause":null,"stackTrace":[{"classLoaderName":"app","moduleName":null,"moduleVersion":null,"methodName":"findUser","fileName":"UserService.java","lineNumber":42,"className":"com.acme.UserService","nativeMethod":false}],"message":"User not found","localizedMessage":"User not found","suppressed":[]}`},

	// --- Python ----------------------------------------------------------
	{name: "python_traceback", kind: StackTrace, tech: "python", at: "Traceback", text: `Traceback (most recent call last):
  File "/srv/app/api/views.py", line 88, in create_order
    order = Order.objects.create(**payload)
  File "/usr/local/lib/python3.11/site-packages/django/db/models/manager.py", line 87, in manager_method
    return getattr(self.get_queryset(), name)(*args, **kwargs)
KeyError: 'customer_id'
`},
	{name: "python_frames_json_list", kind: StackTrace, tech: "python", native: true, at: `File \"/srv/app/worker.py`, text: `{"detail":"internal error","frames":["  File \"/srv/app/worker.py\", line 12, in run\n    job()\n","  File \"/srv/app/jobs.py\", line 40, in job\n    return 1/0\n"]}`},

	// --- .NET ------------------------------------------------------------
	{name: "dotnet_file_lines", kind: StackTrace, tech: "dotnet", at: "at System.Linq", text: `System.InvalidOperationException: Sequence contains no elements
   at System.Linq.ThrowHelper.ThrowNoElementsException()
   at Acme.Orders.OrderService.GetLatest(Int32 customerId) in C:\build\src\Acme.Orders\OrderService.cs:line 57
   at Acme.Orders.Controllers.OrdersController.Latest(Int32 id) in C:\build\src\Acme.Orders\Controllers\OrdersController.cs:line 31
`},
	{name: "dotnet_file_line_linux", kind: StackTrace, tech: "dotnet", text: `Unhandled exception. System.FormatException: Input string was not in a correct format.
   at Acme.Api.Parsing.ReadId(String raw) in /src/Acme.Api/Parsing.cs:line 19
`},
	{name: "dotnet_inner_exception", kind: StackTrace, tech: "dotnet", text: `System.Net.Http.HttpRequestException: Connection refused (inventory:8080)
 ---> System.Net.Sockets.SocketException (111): Connection refused
   at System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.ThrowException(SocketError error, CancellationToken cancellationToken)
   --- End of inner exception stack trace ---
`},
	{name: "dotnet_release_frames", kind: StackTrace, tech: "dotnet", text: `System.NullReferenceException: Object reference not set to an instance of an object.
   at Acme.Web.Startup.<>c.<Configure>b__4_0(HttpContext ctx)
   at Microsoft.AspNetCore.Routing.EndpointMiddleware.Invoke(HttpContext httpContext)
`},

	// --- Go --------------------------------------------------------------
	{name: "go_panic", kind: StackTrace, tech: "go", at: "goroutine 42", text: `panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6b0f2a]

goroutine 42 [running]:
github.com/acme/orders/internal/store.(*Store).Get(0x0, {0xc0001a2000, 0x24})
	/src/internal/store/store.go:88 +0x2a
github.com/acme/orders/internal/api.(*Server).getOrder(0xc000120000, {0x8c1e40, 0xc0002a0000}, 0xc000316000)
	/src/internal/api/orders.go:41 +0x9c
net/http.HandlerFunc.ServeHTTP(0xc000316000?, {0x8c1e40?, 0xc0002a0000?}, 0x0?)
	/usr/local/go/src/net/http/server.go:2166 +0x29
`},
	{name: "go_debug_stack", kind: StackTrace, tech: "go", at: "/app/main.go", text: `recovered: boom
main.handler.func1()
	/app/main.go:31 +0x65
`},

	// --- Node ------------------------------------------------------------
	{name: "node_typeerror", kind: StackTrace, tech: "node", at: "at getUser", text: `TypeError: Cannot read properties of undefined (reading 'id')
    at getUser (/usr/src/app/routes/users.js:42:23)
    at Layer.handle [as handle_request] (/usr/src/app/node_modules/express/lib/router/layer.js:95:5)
    at next (/usr/src/app/node_modules/express/lib/router/route.js:144:13)
`},
	{name: "node_internal_and_bare", kind: StackTrace, tech: "node", text: `Error: ENOENT: no such file or directory, open '/data/config.json'
    at Object.openSync (node:fs:601:3)
    at Object.readFileSync (node:fs:469:35)
    at /app/server.js:12:25
    at Module._compile (node:internal/modules/cjs/loader:1256:14)
`},
	{name: "node_typescript", kind: StackTrace, tech: "node", text: `NotFoundException: user 7 not found
    at UserService.find (/app/dist/users/user.service.ts:31:11)
    at async UserController.get (/app/dist/users/user.controller.ts:18:20)
`},
	{name: "node_express_html", kind: StackTrace, tech: "node", native: true, text: `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Error</title>
</head>
<body>
<pre>ReferenceError: usr is not defined<br> &nbsp; &nbsp;at /app/routes/index.js:9:15<br> &nbsp; &nbsp;at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)<br> &nbsp; &nbsp;at next (/app/node_modules/express/lib/router/route.js:149:13)</pre>
</body>
</html>`},

	// --- PHP -------------------------------------------------------------
	{name: "php_fatal_html", kind: StackTrace, tech: "php", native: true, at: "Fatal error", text: `<br />
<b>Fatal error</b>:  Uncaught Error: Call to a member function fetch() on bool in /var/www/html/api/orders.php:27
Stack trace:
#0 /var/www/html/index.php(12): require()
#1 {main}
  thrown in <b>/var/www/html/api/orders.php</b> on line <b>27</b><br />
`},
	{name: "php_warning", kind: StackTrace, tech: "php", at: "Warning", text: `Warning: include(/var/www/html/lang/fr.php): Failed to open stream: No such file or directory in /var/www/html/bootstrap.php on line 14`},
	{name: "php_stack_main", kind: StackTrace, tech: "php", text: `PHP Fatal error:  Uncaught Exception: bad token in /srv/api/auth.php:40
Stack trace:
#0 {main}
  thrown in /srv/api/auth.php on line 40`},
	{name: "php_trace_json", kind: StackTrace, tech: "php", native: true, text: `{"error":"Internal error","trace":[{"file":"\/app\/src\/Controller\/CartController.php","line":36,"function":"checkout","class":"App\\Service\\Cart","type":"->"}]}`},

	// --- Ruby ------------------------------------------------------------
	{name: "ruby_backtrace", kind: StackTrace, tech: "ruby", at: "app/controllers", text: "NoMethodError (undefined method `name' for nil:NilClass):\n  app/controllers/users_controller.rb:14:in `show'\n  actionpack (7.0.4) lib/action_controller/metal/basic_implicit_render.rb:6:in `send_action'\n"},
	{name: "ruby34_json", kind: StackTrace, tech: "ruby", native: true, text: `{"error":"undefined method 'name' for nil","backtrace":["/app/app/models/user.rb:21:in 'User#display_name'","/app/app/controllers/users_controller.rb:9:in 'UsersController#show'"]}`},

	// --- Debug pages -----------------------------------------------------
	{name: "django_500_html", kind: DebugPage, tech: "django", native: true, at: "Django Version", text: `<!DOCTYPE html>
<html lang="en">
<head>
  <meta http-equiv="content-type" content="text/html; charset=utf-8">
  <meta name="robots" content="NONE,NOARCHIVE">
  <title>ZeroDivisionError
          at /api/stats/</title>
</head>
<body>
<div id="summary">
  <h1>ZeroDivisionError
       at /api/stats/</h1>
  <pre class="exception_value">division by zero</pre>
  <table class="meta">
    <tr><th scope="row">Request Method:</th><td>GET</td></tr>
    <tr><th scope="row">Request URL:</th><td>http://localhost:8000/api/stats/</td></tr>
    <tr><th scope="row">Django Version:</th><td>4.2.7</td></tr>
    <tr><th scope="row">Exception Type:</th><td>ZeroDivisionError</td></tr>
    <tr><th scope="row">Exception Value:</th><td><pre>division by zero</pre></td></tr>
    <tr><th scope="row">Python Executable:</th><td>/usr/local/bin/python</td></tr>
  </table>
</div>
<div id="explanation">
  <p>You’re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p>
</div>
</body>
</html>`},
	{name: "django_500_text", kind: DebugPage, tech: "django", native: true, text: `ZeroDivisionError at /api/stats/
division by zero

Request Method: GET
Request URL: http://localhost:8000/api/stats/
Django Version: 4.2.7
Python Executable: /usr/local/bin/python
Python Version: 3.11.6

Traceback (most recent call last):
  File "/usr/local/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
  File "/srv/app/stats/views.py", line 14, in stats
    return JsonResponse({"avg": total / count})
ZeroDivisionError: division by zero
`},
	{name: "django_404_debug", kind: DebugPage, tech: "django", native: true, text: `<html><body><h1>Page not found <span>(404)</span></h1><p>Using the URLconf defined in <code>shop.urls</code>, Django tried these URL patterns, in this order:</p><ol><li>admin/</li><li>api/</li></ol><p>You’re seeing this error because you have <code>DEBUG = True</code> in your Django settings file. Change that to <code>False</code>, and Django will display a standard 404 page.</p></body></html>`},
	{name: "werkzeug", kind: DebugPage, tech: "werkzeug", native: true, text: `<!doctype html>
<html lang=en>
  <head>
    <title>ZeroDivisionError: division by zero
 // Werkzeug Debugger</title>
    <link rel="stylesheet" href="?__debugger__=yes&amp;cmd=resource&amp;f=style.css">
  </head>
  <body style="background-color: #fff">
    <div class="debugger">
<h1>ZeroDivisionError</h1>
<div class="detail"><p class="errormsg">ZeroDivisionError: division by zero</p></div>
<h2 class="traceback">Traceback <em>(most recent call last)</em></h2>
</div></body></html>`},
	{name: "laravel_json_debug", kind: DebugPage, tech: "laravel", native: true, text: `{"message":"Call to undefined method App\\Models\\User::profile()","exception":"BadMethodCallException","file":"\/var\/www\/vendor\/laravel\/framework\/src\/Illuminate\/Support\/Traits\/ForwardsCalls.php","line":67,"trace":[{"file":"\/var\/www\/vendor\/laravel\/framework\/src\/Illuminate\/Support\/Traits\/ForwardsCalls.php","line":36,"function":"throwBadMethodCallException","class":"Illuminate\\Database\\Eloquent\\Model","type":"::"}]}`},
	{name: "laravel_whoops", kind: DebugPage, tech: "laravel", native: true, text: `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Whoops! There was an error.</title></head><body><div class="Whoops container"><div class="exception"><div class="exc-title"><span class="exc-title-primary">Illuminate\Contracts\Container\BindingResolutionException</span></div><p class="exc-message">Target class [PaymentController] does not exist.</p></div></div></body></html>`},
	{name: "laravel_ignition", kind: DebugPage, tech: "laravel", native: true, text: `<!doctype html><html class="theme-light"><head><title>Target class [PaymentController] does not exist.</title></head><body><script>window.data = {"report":{"exception_class":"Illuminate\\Contracts\\Container\\BindingResolutionException","message":"Target class [PaymentController] does not exist.","stacktrace":[{"file":"\/var\/www\/vendor\/laravel\/framework\/src\/Illuminate\/Container\/Container.php","line_number":914}]}};</script></body></html>`},
	{name: "symfony", kind: DebugPage, tech: "symfony", native: true, text: `<!DOCTYPE html><html><head><title>No route found for "GET http://localhost/api/nope" (404 Not Found)</title></head><body><div class="exception-summary"><h2 class="exception-message">No route found for &quot;GET http://localhost/api/nope&quot;</h2><div class="exception-class">Symfony\Component\HttpKernel\Exception\NotFoundHttpException</div></div><div class="trace trace-as-html"><span class="trace-class">Symfony\Component\Routing\Matcher\UrlMatcher</span></div></body></html>`},
	{name: "rails_html", kind: DebugPage, tech: "rails", native: true, text: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8" /><title>Action Controller: Exception caught</title></head><body><header><h1>NoMethodError in OrdersController#index</h1></header></body></html>`},
	{name: "rails_json", kind: DebugPage, tech: "rails", native: true, text: "{\"status\":500,\"error\":\"Internal Server Error\",\"exception\":\"#<NoMethodError: undefined method `total' for nil>\",\"traces\":{\"Application Trace\":[{\"exception_object_id\":8960,\"id\":1,\"trace\":\"app/controllers/orders_controller.rb:7:in `index'\"}],\"Framework Trace\":[{\"exception_object_id\":8960,\"id\":0,\"trace\":\"actionpack (7.1.2) lib/abstract_controller/base.rb:224:in `process_action'\"}],\"Full Trace\":[]}}"},
	{name: "spring_whitelabel_trace", kind: DebugPage, tech: "spring", native: true, text: `<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p><div id='created'>Tue Mar 05 10:15:30 UTC 2024</div><div>There was an unexpected error (type=Internal Server Error, status=500).</div><div>id must be positive</div><div style='white-space:pre-wrap;'>java.lang.IllegalArgumentException: id must be positive
	at com.acme.api.OrderController.get(OrderController.java:27)
	at java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
</div></body></html>`},
	{name: "aspnet_yellow_screen", kind: DebugPage, tech: "aspnet", native: true, text: `<html>
    <head>
        <title>Runtime Error</title>
    </head>
    <body bgcolor="white">
            <span><H1>Server Error in '/' Application.<hr width=100% size=1 color=silver></H1>
            <h2> <i>Runtime Error</i> </h2></span>
    </body>
</html>`},
	{name: "aspnet_core_dev_page", kind: DebugPage, tech: "aspnet", native: true, text: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8" /><title>Internal Server Error</title></head><body><h1>An unhandled exception occurred while processing the request.</h1><div class="titleerror">InvalidOperationException: Unable to resolve service for type &#x27;Acme.IClock&#x27;</div></body></html>`},

	// --- SQL -------------------------------------------------------------
	{name: "mysql_syntax", kind: SQLError, tech: "mysql", at: "You have", text: `You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''1'' LIMIT 0,1' at line 1`},
	{name: "mariadb_syntax", kind: SQLError, tech: "mysql", text: `(1064, "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'ORDER BY name' at line 1")`},
	{name: "mysql_jdbc", kind: SQLError, tech: "mysql", text: `com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure

The last packet sent successfully to the server was 0 milliseconds ago.`},
	{name: "mysql_dotnet", kind: SQLError, tech: "mysql", text: `MySql.Data.MySqlClient.MySqlException (0x80004005): Unknown column 'emial' in 'field list'`},
	{name: "mysql_node", kind: SQLError, tech: "mysql", native: true, text: `{"code":"ER_PARSE_ERROR","errno":1064,"sqlMessage":"syntax error near ''' at line 1","sqlState":"42000","index":0,"sql":"SELECT * FROM users WHERE id = 1'"}`},
	{name: "mysql_ruby", kind: SQLError, tech: "mysql", text: `Mysql2::Error: Unknown column 'x' in 'where clause'`},
	{name: "mysql_php_warning_html", kind: SQLError, tech: "mysql", native: true, at: "Warning", text: `<br />
<b>Warning</b>:  mysql_fetch_array() expects parameter 1 to be resource, boolean given in <b>/var/www/html/products.php</b> on line <b>31</b><br />`},
	{name: "mysqli_warning", kind: SQLError, tech: "mysql", at: "Warning", text: `Warning: mysqli_query(): (42000/1064): Unknown column 'x' in 'order clause' in /var/www/html/list.php on line 9`},
	{name: "postgres_rails", kind: SQLError, tech: "postgres", text: `PG::UndefinedTable: ERROR:  relation "orders" does not exist
LINE 1: SELECT "orders".* FROM "orders"
                               ^`},
	{name: "postgres_psycopg2", kind: SQLError, tech: "postgres", text: `psycopg2.errors.UndefinedColumn: column "emial" does not exist
LINE 1: SELECT emial FROM users
               ^`},
	{name: "postgres_psql_syntax", kind: SQLError, tech: "postgres", text: `ERROR:  syntax error at or near "FROM"
LINE 1: SELECT * FROM FROM users;
                      ^`},
	{name: "postgres_jdbc", kind: SQLError, tech: "postgres", text: `org.postgresql.util.PSQLException: ERROR: duplicate key value violates unique constraint "users_email_key"
  Detail: Key (email)=(a@example.com) already exists.`},
	{name: "postgres_lib_pq", kind: SQLError, tech: "postgres", text: `pq: relation "accounts" does not exist`},
	{name: "postgres_pgx", kind: SQLError, tech: "postgres", text: `ERROR: column "nmae" does not exist (SQLSTATE 42703)`},
	{name: "postgres_npgsql", kind: SQLError, tech: "postgres", text: `Npgsql.PostgresException (0x80004005): 42P01: relation "Orders" does not exist`},
	{name: "oracle", kind: SQLError, tech: "oracle", at: "ORA-", text: `ORA-00933: SQL command not properly ended`},
	{name: "oracle_via_jdbc", kind: SQLError, tech: "oracle", text: `java.sql.SQLSyntaxErrorException: ORA-00942: table or view does not exist`},
	{name: "oracle_dotnet", kind: SQLError, tech: "oracle", text: `Oracle.ManagedDataAccess.Client.OracleException (0x80004005): ORA-01017: invalid username/password; logon denied`},
	{name: "mssql_unclosed", kind: SQLError, tech: "mssql", text: `Unclosed quotation mark after the character string ''.
Incorrect syntax near ''.`},
	{name: "mssql_oledb", kind: SQLError, tech: "mssql", text: `Microsoft OLE DB Provider for SQL Server error '80040e14'`},
	{name: "mssql_odbc", kind: SQLError, tech: "mssql", text: `('42S02', "[42S02] [Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Invalid object name 'dbo.Userz'. (208) (SQLExecDirectW)")`},
	{name: "mssql_sqlclient", kind: SQLError, tech: "mssql", text: `System.Data.SqlClient.SqlException (0x80131904): Invalid column name 'Emial'.`},
	{name: "mssql_conversion", kind: SQLError, tech: "mssql", text: `Conversion failed when converting the varchar value 'abc' to data type int.`},
	{name: "mssql_keyword", kind: SQLError, tech: "mssql", text: `Incorrect syntax near the keyword 'WHERE'.`},
	{name: "sqlite_node", kind: SQLError, tech: "sqlite", text: `SQLITE_ERROR: no such table: sessions`},
	{name: "sqlite_python", kind: SQLError, tech: "sqlite", text: `sqlite3.OperationalError: no such column: emial`},
	{name: "sqlite_ruby", kind: SQLError, tech: "sqlite", text: `SQLite3::SQLException: no such table: widgets`},
	{name: "sqlite_java", kind: SQLError, tech: "sqlite", text: `org.sqlite.SQLiteException: [SQLITE_CONSTRAINT_UNIQUE] A UNIQUE constraint failed (UNIQUE constraint failed: users.email)`},
	{name: "sqlite_go", kind: SQLError, tech: "sqlite", native: true, text: `{"error":"no such table: users"}`},
	{name: "sqlstate_pdo", kind: SQLError, tech: "sql", text: `SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry 'a@example.com' for key 'users_email_unique'`},
	{name: "jdbc", kind: SQLError, tech: "jdbc", text: `java.sql.SQLException: Connection is not available, request timed out after 30000ms.`},
	{name: "hibernate", kind: SQLError, tech: "hibernate", text: `org.hibernate.exception.SQLGrammarException: could not extract ResultSet`},
	{name: "sqlalchemy", kind: SQLError, tech: "sqlalchemy", text: `sqlalchemy.exc.OperationalError: connection to server at "db" (10.0.0.5), port 5432 failed`},
	{name: "sqlalchemy_psycopg2", kind: SQLError, tech: "postgres", text: `sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedTable) relation "x" does not exist`},
	{name: "django_db", kind: SQLError, tech: "django-db", text: `django.db.utils.ProgrammingError: column orders.total does not exist`},
	{name: "activerecord", kind: SQLError, tech: "activerecord", text: `ActiveRecord::StatementInvalid (Could not find table 'users')`},
	{name: "laravel_sql_json", kind: SQLError, tech: "sql", native: true, text: `{"message":"SQLSTATE[42S02]: Base table or view not found: 1146 Table 'shop.orderz' doesn't exist (Connection: mysql, SQL: select * from ` + "`orderz`" + `)","exception":"Illuminate\\Database\\QueryException","file":"\/var\/www\/vendor\/laravel\/framework\/src\/Illuminate\/Database\/Connection.php","line":822,"trace":[]}`},
	{name: "java_trace_with_sql_cause", kind: SQLError, tech: "jdbc", text: `org.springframework.jdbc.UncategorizedSQLException: StatementCallback; uncategorized SQLException
	at org.springframework.jdbc.support.SQLStateSQLExceptionTranslator.doTranslate(SQLStateSQLExceptionTranslator.java:99)
Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available
	at com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)
`},
}

// Wrappers put a text where a response carries it.
func wrapHTML(s string) string {
	return "<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Something went wrong</h1><pre>" +
		html.EscapeString(s) + "</pre><p>Contact support.</p></body></html>"
}

func wrapJSON(t testing.TB, s string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(map[string]any{"status": 500, "error": "Internal Server Error", "message": s, "path": "/api/v1/orders"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// wrapPHPJSON escapes like PHP's json_encode: "/" as "\/" too.
func wrapPHPJSON(t testing.TB, s string) string {
	return strings.ReplaceAll(wrapJSON(t, s, false), "/", `\/`)
}

// wrapLate puts the text after 20 KiB of ordinary JSON.
func wrapLate(t testing.TB, s string) string {
	page := benchJSON(9, 20<<10)
	return string(page[:len(page)-1]) + `,"debug":` + strings.TrimSpace(wrapJSON(t, s, false)) + "}"
}

func TestLeaks(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range leakCases {
		seen[c.tech] = true
		forms := map[string]string{"native": c.text}
		if !c.native {
			forms = map[string]string{
				"plain":           c.text,
				"html":            wrapHTML(c.text),
				"json":            wrapJSON(t, c.text, true),
				"json_noescape":   wrapJSON(t, c.text, false),
				"json_php":        wrapPHPJSON(t, c.text),
				"json_after_20KB": wrapLate(t, c.text),
			}
		}
		for form, body := range forms {
			l, ok := Find([]byte(body))
			if !ok || l.Kind != c.kind || l.Tech != c.tech {
				t.Errorf("%s/%s: Find = %+v, %v; want %v/%s\n%s", c.name, form, l, ok, c.kind, c.tech, body)
				continue
			}
			if l.Offset < 0 || l.Offset >= len(body) {
				t.Errorf("%s/%s: offset %d outside %d bytes", c.name, form, l.Offset, len(body))
			}
			if c.at != "" && form == "plain" || c.at != "" && form == "native" {
				if want := strings.Index(body, c.at); l.Offset != want {
					t.Errorf("%s/%s: offset %d (%q), want %d (%q)", c.name, form, l.Offset, snippet(body, l.Offset), want, c.at)
				}
			}
		}
	}
	for _, tech := range []string{"java", "python", "dotnet", "go", "node", "php", "ruby", "mysql", "postgres",
		"oracle", "mssql", "sqlite", "django", "werkzeug", "laravel", "rails", "spring", "aspnet"} {
		if !seen[tech] {
			t.Errorf("no positive case for tech %q", tech)
		}
	}
}

func snippet(b string, i int) string {
	if i < 0 || i >= len(b) {
		return ""
	}
	return b[i:min(len(b), i+30)]
}

// Hard negatives: ordinary API bodies and pages that use the words, the
// punctuation or the names without the structure.
var negatives = []struct{ name, body string }{
	{"json_prose_words", `{"status":"error","message":"An exception occurred at line 5 of your CSV file; see the Traceback section of the docs for help.","errors":[{"field":"email","error":"invalid","line":5}],"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`},
	{"bare_exception_name", `{"error":"NullPointerException","exception":"java.lang.IllegalStateException","detail":"the server could not complete the request"}`},
	{"error_codes", `{"error":{"code":"ER_TIMEOUT","type":"api_error","message":"Request failed at 10:42 (line busy). Try again."}}`},
	{"sql_docs_page", `<html><head><title>SQL tutorial: SELECT</title></head><body><h1>The SELECT statement</h1><p>An error in your SQL query is usually reported with a code. Oracle codes start with ORA and five digits; PostgreSQL uses SQLSTATE codes such as 42601 for a syntax error. In SQL Server, quotation marks must be closed. MySQL, SQLite, Hibernate and JDBC each report errors differently; a stack trace helps at development time.</p><pre>SELECT name, email FROM users WHERE id = 42;</pre><p>Stack trace: the list of calls that led to an error.</p></body></html>`},
	{"ora_bella_product", `{"items":[{"name":"ORA-bella 2000 floor lamp","sku":"ORA-12345-X","brand":"ORA-Design"},{"name":"Lamp ORA-00001 kit","price":12.5}]}`},
	{"code_review", `{"comments":[{"path":"src/main/java/com/acme/Foo.java","line":12,"body":"nit: at line 42 you call user.save() before validating; in UserService.java the method at com.acme.UserService could throw. Also see File \"app.py\", line 3 in the old version."},{"path":"app/models/user.rb","line":7,"body":"This raises at runtime in production, let's add a guard."}]}`},
	{"go_prose", `<p>Each goroutine runs independently; a goroutine in the [running] state holds a thread. Use runtime.Stack to print a trace of main.go:12 when debugging.</p>`},
	{"urls_and_files", `{"main":"index.js","scripts":{"test":"node test.js","start":"node server.js"},"files":["lib/app.js:latest"],"homepage":"https://cdn.example.com/app.js:8080/x","repository":"git+https://github.com/acme/app.git"}`},
	{"actuator_env_driver", `{"activeProfiles":["prod"],"propertySources":[{"name":"applicationConfig","properties":{"spring.datasource.driver-class-name":{"value":"com.mysql.cj.jdbc.Driver"},"spring.jpa.database-platform":{"value":"org.hibernate.dialect.MySQL8Dialect"}}}]}`},
	{"whitelabel_without_trace", `<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p><div>There was an unexpected error (type=Not Found, status=404).</div></body></html>`},
	{"django_admin_title", `<html><head><title>Site administration | Django site admin</title></head><body><h1>Django administration</h1><p>Django Version: see the about page.</p></body></html>`},
	{"php_docs", `<p>A fatal error in PHP stops the script; the message names the file and the line. Warnings do not stop it. See the manual on line endings.</p>`},
	{"sqlite_config", `{"SQLITE_MAX_VARIABLE_NUMBER":999,"SQLITE_DEFAULT_CACHE_SIZE":-2000,"note":"tuned for SQLITE_ENABLE_FTS5 builds"}`},
	{"openapi_fields", `{"StackTraceElement":{"type":"object","properties":{"lineNumber":{"type":"integer"},"fileName":{"type":"string"}}},"description":"Caused by: a field describing the cause"}`},
	{"pg_image", `{"images":["a.JPG","PG::photo"],"note":"relation \"friends\" does not exist yet in your profile"}`},
	{"ruby_prose", "{\"text\":\"Run `rake db:migrate`; the user.rb:12 line is where the model lives, in `User`.\"}"},
	{"dotnet_prose", `{"body":"The error was in Program.cs:line 12 last week, at System.Text we saw nothing."}`},
	{"node_prose", `{"msg":"Deploy failed at step build (see build.js:12:3 for details)"}`},
	{"python_prose", `{"text":"Traceback (most recent call last) is the header Python prints; it is followed by frames."}`},
	{"html_app_shell", `<!DOCTYPE html><html><head><script src="/static/js/main.8c1d2e.js"></script><script>window.onerror=function(m,u,l){console.log("error at line "+l)}</script></head><body><div id="root"></div></body></html>`},
	{"mysql_word", `{"db":"mysql","driver":"mysqli","extensions":["mysql_xdevapi"],"note":"Warning: mysql is the default"}`},
	{"incorrect_syntax_prose", `{"hint":"Incorrect syntax nearly always comes from a missing comma."}`},
}

func TestNegatives(t *testing.T) {
	for _, c := range negatives {
		for form, body := range map[string]string{"native": c.body, "json": wrapJSON(t, c.body, true), "html": wrapHTML(c.body)} {
			if l, ok := Find([]byte(body)); ok {
				t.Errorf("%s/%s: false positive %+v at %q", c.name, form, l, snippet(body, l.Offset))
			}
		}
	}
	for _, b := range [][]byte{nil, {}, []byte("a"), []byte("at "), benchJSON(5, 64<<10), benchProse(6, 64<<10)} {
		if l, ok := Find(b); ok {
			t.Errorf("false positive %+v in %d bytes at %q", l, len(b), snippet(string(b), l.Offset))
		}
	}
}

// TestStrongest: a database error beats the stack trace around it; among
// equals, the earliest evidence wins.
func TestStrongest(t *testing.T) {
	trace := leakCases[0].text
	body := trace + "\n" + "ORA-00942: table or view does not exist\n" + trace
	l, ok := Find([]byte(body))
	if !ok || l.Kind != SQLError || l.Tech != "oracle" || l.Offset != strings.Index(body, "ORA-") {
		t.Fatalf("got %+v, %v", l, ok)
	}
	body = "ORA-00942: table or view does not exist\n" + "ORA-01017: invalid username/password\n"
	if l, _ := Find([]byte(body)); l.Offset != 0 {
		t.Fatalf("earliest: got %+v", l)
	}
	// Specific database over generic: JDBC first, Oracle later.
	body = "java.sql.SQLException: boom\n ORA-00001: unique constraint violated"
	if l, _ := Find([]byte(body)); l.Tech != "oracle" {
		t.Fatalf("specific: got %+v", l)
	}
}

func TestMaxScan(t *testing.T) {
	leak := []byte("ORA-00933: SQL command not properly ended")
	body := append(bytes.Repeat([]byte(" "), MaxScan-len(leak)), leak...)
	if l, ok := Find(body); !ok || l.Offset != MaxScan-len(leak) {
		t.Fatalf("leak ending at MaxScan: %+v, %v", l, ok)
	}
	body = append(bytes.Repeat([]byte(" "), MaxScan-5), leak...) // "ORA-0" inside, the rest outside
	if l, ok := Find(body); ok {
		t.Fatalf("leak crossing MaxScan found: %+v", l)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{StackTrace: "stack_trace", SQLError: "sql_error", DebugPage: "debug_page", 0: "verbose.Kind(0)", 9: "verbose.Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", k, got, want)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	bodies := [][]byte{benchJSON(1, 8<<10), benchProse(2, 64<<10)}
	for _, c := range leakCases {
		bodies = append(bodies, []byte(c.text), []byte(wrapJSON(t, c.text, false)))
	}
	testutil.AssertAllocs(t, 0, func() {
		for _, b := range bodies {
			Find(b)
		}
	})
}

// TestPrefilterReachesEveryAnchor: every anchor literal, at every
// alignment against the sampling stride, after plain, JSON-like and HTML-like
// bytes and at both ends of the body, reaches its check.
func TestPrefilterReachesEveryAnchor(t *testing.T) {
	seen := map[string]bool{}
	for i, a := range anchors {
		if seen[a.lit] {
			t.Errorf("duplicate anchor %q", a.lit)
		}
		seen[a.lit] = true
		if a.key < 0 || a.key+stride >= len(a.lit) {
			t.Fatalf("%q: key %d outside", a.lit, a.key)
		}
		for _, pad := range []string{"", "x", " {\"k\":\"", "<p>a b", "\n\t", "0123456789abcdef"} {
			for shift := 0; shift < 2*stride+1; shift++ {
				pre := strings.Repeat(" ", shift) + pad
				for _, post := range []string{"", " tail text", "\"}"} {
					body := []byte(pre + a.lit + post)
					found := false
					find(body, func(ai, s int) { found = found || ai == i && s == len(pre) })
					if !found {
						t.Errorf("%q not reached at %d in %q", a.lit, len(pre), body)
					}
				}
			}
		}
	}
}

// TestPruning: skipping anchors that cannot beat the best leak so far
// changes no result (each anchor's back covers where its evidence starts).
func TestPruning(t *testing.T) {
	var bodies []string
	for i, c := range leakCases {
		bodies = append(bodies, c.text, wrapHTML(c.text), wrapJSON(t, c.text, true))
		d := leakCases[(i*7+3)%len(leakCases)]
		bodies = append(bodies, c.text+"\n"+d.text, d.text+"\n"+c.text)
	}
	defer func() { noPrune = false }()
	for _, b := range bodies {
		noPrune = false
		l1, ok1 := Find([]byte(b))
		noPrune = true
		l2, ok2 := Find([]byte(b))
		if l1 != l2 || ok1 != ok2 {
			t.Errorf("pruned %+v, unpruned %+v in\n%s", l1, l2, b)
		}
	}
}

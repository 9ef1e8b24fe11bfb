package verbose

// The anchor table. Each literal is case-sensitive, as the real messages
// are written; its check (confirm.go, dispatched by scan.confirm) is the
// structural test around it. back is how far before the literal the
// evidence may start (TestPruning holds it to that).

const (
	digits = "0123456789"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// spec is how the literals of one add call are checked.
type spec struct {
	check check
	words []string // chkAfter, chkBefore: any of them; chkNotAfter: the prefix
	n     int      // chkAfter, chkBefore: window (0: to the end); chkClassAfter: 1 = must end in Error
}

var anchors = makeAnchors()

func makeAnchors() []anchor {
	var as []anchor
	group := uint8(0)
	// add adds the literals with the check in sp; they form one group
	// (for the per-group failure cap).
	add := func(kind Kind, tech string, back int, sp spec, lits ...string) {
		for _, l := range lits {
			as = append(as, anchor{lit: l, base: uint8(len(l)), kind: kind, tech: tech, check: sp.check,
				words: sp.words, n: sp.n, back: uint16(back), group: group})
		}
		group++
	}
	// addNext adds lit followed by each byte of next: for literals
	// shorter than stride+1 ("ORA-" + a digit). The check sees base = len(lit).
	addNext := func(kind Kind, tech string, back int, sp spec, lit, next string) {
		for i := 0; i < len(next); i++ {
			as = append(as, anchor{lit: lit + next[i:i+1], base: uint8(len(lit)), kind: kind, tech: tech,
				check: sp.check, words: sp.words, n: sp.n, back: uint16(back), group: group})
		}
		group++
	}

	// --- Stack traces ---------------------------------------------------
	// JVM frames: "\tat com.acme.Svc.find(Svc.java:42)".
	// "(Native Method)" and "(Unknown Source)" frames count as second
	// frames; a trace always has file frames too.
	add(StackTrace, "java", 400, spec{check: chkFrame}, ".java:", ".scala:", ".groovy:")
	addNext(StackTrace, "java", 400, spec{check: chkFrame}, ".kt:", digits)
	add(StackTrace, "java", 0, spec{check: chkCausedBy}, "Caused by: ")
	add(StackTrace, "java", 0, spec{check: chkJackson}, `"lineNumber":`)
	// Python.
	add(StackTrace, "python", 0, spec{check: chkTraceback}, "Traceback (most recent call last)")
	// Frames without the header, JSON- or HTML-escaped (a plain-text trace
	// has its header): `File \"/app/x.py\", line 7`.
	add(StackTrace, "python", 400, spec{check: chkPyLine}, `.py\", line `, ".py&quot;, line ", ".py&#34;, line ")
	// .NET: "   at Acme.Svc.Find(Int32 id) in C:\src\Svc.cs:line 42".
	add(StackTrace, "dotnet", 700, spec{check: chkDotnetLine}, ".cs:line ", ".vb:line ", ".fs:line ")
	add(StackTrace, "dotnet", 0, spec{check: chkFrame}, "at System.", "at Microsoft.")
	add(StackTrace, "dotnet", 0, spec{check: chkLit}, "--- End of inner exception stack trace ---",
		"--- End of stack trace from previous location")
	// Go: "goroutine 1 [running]:", "\t/app/main.go:42 +0x1d".
	add(StackTrace, "go", 32, spec{check: chkGoroutine}, "[running]:")
	addNext(StackTrace, "go", 320, spec{check: chkGoFrame}, " +0x", "0123456789abcdef")
	// Node: "    at Object.<anonymous> (/app/x.js:3:9)".
	addNext(StackTrace, "node", 300, spec{check: chkFrame}, ".js:", digits)
	addNext(StackTrace, "node", 300, spec{check: chkFrame}, ".ts:", digits)
	add(StackTrace, "node", 300, spec{check: chkFrame}, ".mjs:", ".cjs:", ".jsx:", ".tsx:", "(node:internal")
	// PHP.
	add(StackTrace, "php", 0, spec{check: chkPHPStack}, "Stack trace:")
	add(StackTrace, "php", 600, spec{check: chkPHPLine}, ".php on line ", "</b> on line ")
	// PHP trace elements serialised to JSON (Laravel, Symfony, Slim):
	// {"file":"/app/src/X.php","line":36,"function":"run","class":"X","type":"->"}.
	add(StackTrace, "php", 300, spec{check: chkPHPTraceJSON}, `.php",`)
	// Ruby: "/app/models/user.rb:12:in `save'".
	addNext(StackTrace, "ruby", 300, spec{check: chkRuby}, ".rb:", digits)

	// --- Debug pages ------------------------------------------------------
	add(DebugPage, "django", 0, spec{check: chkAfter, n: 4096, words: []string{"Python Executable:", "Python Version:", "Exception Type:", "Installed Applications:"}},
		"Django Version:")
	add(DebugPage, "django", 0, spec{check: chkBefore, n: 200, words: []string{"DEBUG = True"}}, "in your Django settings file")
	add(DebugPage, "werkzeug", 0, spec{check: chkWerkzeug}, "Werkzeug Debugger")
	add(DebugPage, "werkzeug", 0, spec{check: chkLit}, "caught an exception in your WSGI application")
	add(DebugPage, "whoops", 0, spec{check: chkWhoops}, "Whoops! There was an error")
	add(DebugPage, "laravel", 0, spec{check: chkPHPClass}, `Illuminate\`)
	add(DebugPage, "symfony", 0, spec{check: chkPHPClass}, `Symfony\`)
	// Laravel's debug JSON: {"message":…,"exception":"…","file":"….php","line":…,"trace":[…]}.
	add(DebugPage, "laravel", 0, spec{check: chkLaravelJSON}, `"exception":"`, `"exception": "`)
	add(DebugPage, "rails", 0, spec{check: chkLit}, "Action Controller: Exception caught")
	add(DebugPage, "rails", 0, spec{check: chkAfter, words: []string{"Framework Trace", "Full Trace"}}, "Application Trace")
	add(DebugPage, "spring", 0, spec{check: chkAfter, words: []string{".java:", "(Native Method)", "(Unknown Source)"}}, "Whitelabel Error Page")
	add(DebugPage, "aspnet", 0, spec{check: chkASPNet}, "Server Error in ")
	add(DebugPage, "aspnet", 0, spec{check: chkLit}, "An unhandled exception occurred while processing the request")

	// --- SQL errors -------------------------------------------------------
	// MySQL / MariaDB.
	add(SQLError, "mysql", 0, spec{check: chkLit}, "You have an error in your SQL syntax",
		"the right syntax to use near", "in 'field list'", "in 'where clause'",
		"Mysql2::Error")
	// Node's mysql/mysql2 error codes (err.code, and err.message starts
	// with it).
	add(SQLError, "mysql", 0, spec{check: chkWordStart}, "ER_PARSE_ERROR", "ER_NO_SUCH_TABLE", "ER_BAD_FIELD_ERROR",
		"ER_DUP_ENTRY", "ER_WRONG_VALUE_COUNT", "ER_NO_DEFAULT_FOR_FIELD", "ER_TRUNCATED_WRONG_VALUE")
	add(SQLError, "mysql", 48, spec{check: chkMySQLWarning}, "mysql")
	add(SQLError, "mysql", 0, spec{check: chkQualExc}, "com.mysql.")
	add(SQLError, "mysql", 0, spec{check: chkWordStart}, "MySqlException")
	// PostgreSQL.
	addNext(SQLError, "postgres", 0, spec{check: chkClassAfter}, "PG::", upper)
	add(SQLError, "postgres", 0, spec{check: chkPsycopg}, "psycopg2.", "psycopg.errors.")
	add(SQLError, "postgres", 0, spec{check: chkQuoteAfter}, "syntax error at or near ")
	add(SQLError, "postgres", 0, spec{check: chkQualExc}, "org.postgresql.")
	add(SQLError, "postgres", 0, spec{check: chkLit}, "Npgsql.PostgresException", "Npgsql.NpgsqlException",
		"duplicate key value violates unique constraint", "violates foreign key constraint")
	add(SQLError, "postgres", 0, spec{check: chkRelation}, "pq: relation ", "pq: column ")
	add(SQLError, "postgres", 0, spec{check: chkSQLState}, "(SQLSTATE ")
	// Oracle.
	addNext(SQLError, "oracle", 0, spec{check: chkORA}, "ORA-", digits)
	add(SQLError, "oracle", 0, spec{check: chkQualExc}, "oracle.jdbc.")
	add(SQLError, "oracle", 0, spec{check: chkLit}, "Client.OracleException")
	// SQL Server.
	add(SQLError, "mssql", 0, spec{check: chkLit}, "Unclosed quotation mark after the character string",
		"Microsoft OLE DB Provider for SQL Server", "SqlClient.SqlException",
		"Conversion failed when converting the")
	add(SQLError, "mssql", 0, spec{check: chkNotAfter, words: []string{"My"}}, "SqlException (0x")
	add(SQLError, "mssql", 0, spec{check: chkMSSQLBracket}, "[SQL Server]")
	add(SQLError, "mssql", 0, spec{check: chkIncorrectSyntax}, "Incorrect syntax near")
	// SQLite.
	add(SQLError, "sqlite", 0, spec{check: chkSQLiteCode}, "SQLITE_")
	add(SQLError, "sqlite", 0, spec{check: chkWordStart}, "sqlite3.OperationalError", "sqlite3.IntegrityError",
		"sqlite3.ProgrammingError", "sqlite3.DatabaseError", "sqlite3.InterfaceError")
	add(SQLError, "sqlite", 0, spec{check: chkClassAfter}, "SQLite3::")
	add(SQLError, "sqlite", 0, spec{check: chkWordStart}, "SQLiteException", "SqliteException")
	add(SQLError, "sqlite", 0, spec{check: chkNoSuch}, "no such table: ", "no such column: ")
	// Generic: the database is not named.
	add(SQLError, "sql", 0, spec{check: chkSQLState}, "SQLSTATE[")
	add(SQLError, "jdbc", 0, spec{check: chkQualExc}, "java.sql.SQL")
	add(SQLError, "hibernate", 0, spec{check: chkQualExc}, "org.hibernate.exception.")
	add(SQLError, "sqlalchemy", 0, spec{check: chkClassAfter}, "sqlalchemy.exc.")
	add(SQLError, "django-db", 0, spec{check: chkClassAfter, n: 1}, "django.db.utils.")
	add(SQLError, "activerecord", 0, spec{check: chkLit}, "ActiveRecord::StatementInvalid", "ActiveRecord::RecordNotUnique")
	return as
}

// sampleText stands for ordinary API traffic: JSON with ids, dates, URLs
// and English prose, and a little HTML. Byte pairs frequent here are kept
// out of the prefilter's key windows where an anchor allows.
const sampleText = `{"data":[{"id":"8f14e45f-ceea-467f-a0b6-5b1f3e6c9a27","type":"order","attributes":{"status":"shipped","created_at":"2024-05-20T10:31:00Z","updated_at":"2024-05-21T08:02:11.512Z","total":{"amount":1999,"currency":"EUR"},"customer":{"name":"Jane Doe","email":"jane.doe@example.com","phone":"+14155552671"},"shipping_address":{"line1":"12 Market Street","city":"San Francisco","postal_code":"94105","country":"US"},"items":[{"sku":"WID-0042-BL","title":"Blue widget, large","quantity":2,"price":9.99,"in_stock":true},{"sku":"GAD-7781","title":"Gadget with a longer description of what it does and where it is used","quantity":1,"price":0.01,"in_stock":false}],"notes":"Leave at the front door. Call if nobody is at home.","links":{"self":"https://api.example.com/v1/orders/8f14e45f","invoice":"https://cdn.example.com/invoices/2024/05/inv-1042.pdf"}}}],"meta":{"page":3,"per_page":50,"total":1234,"next":"/v1/orders?page=4&per_page=50"},"error":null,"errors":[],"message":"OK"}
{"error":{"code":"invalid_request","message":"The request is missing a required parameter. Check the documentation at https://docs.example.com/errors#invalid_request and try again.","param":"customer_id","request_id":"req_9Xz81Kd02"}}
{"user":{"id":42,"username":"jdoe","first_name":"John","last_name":"Smith","roles":["admin","editor"],"preferences":{"theme":"dark","language":"en-US","timezone":"Europe/Berlin","notifications":{"email":true,"sms":false}},"last_login":"2024-06-01T12:00:00+02:00","avatar_url":"https://images.example.com/u/42.png?size=128"}}
{"results":[{"title":"Getting started with the platform","summary":"In this article we describe how to create your first project, invite the team, and configure the integration with your existing tools. It takes about ten minutes.","tags":["guide","onboarding"],"score":0.8731},{"title":"Release notes for version 2.14","summary":"This release improves performance of the search index, fixes an issue where exports could fail for very large accounts, and adds support for single sign-on.","tags":["release"],"score":0.5512}],"took_ms":12,"timed_out":false}
<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Account settings</title><link rel="stylesheet" href="/static/css/app.3f2a1c.css"><script src="/static/js/main.8c1d2e.js" defer></script></head><body><div class="container"><h1>Welcome back, Jane</h1><p>Your subscription renews on June 30. You can change the plan at any time from the billing page.</p><a href="/settings/billing" class="btn btn-primary">Manage billing</a></div></body></html>
{"events":[{"ts":1716201060,"name":"page_view","properties":{"path":"/pricing","referrer":"https://www.google.com/","utm_source":"newsletter","duration_ms":5230}},{"ts":1716201071,"name":"click","properties":{"element":"signup_button","x":312,"y":88}}],"count":2,"next_cursor":"eyJvZmZzZXQiOjJ9"}
{
  "id": 1296269,
  "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
  "name": "hello-world",
  "full_name": "octocat/hello-world",
  "description": "This your first repo! It is used to show how the API returns a repository.",
  "private": false,
  "html_url": "https://github.com/octocat/hello-world",
  "url": "https://api.github.com/repos/octocat/hello-world",
  "created_at": "2011-01-26T19:01:12Z",
  "topics": [
    "octocat",
    "atom",
    "api"
  ],
  "permissions": {
    "admin": false,
    "push": false,
    "pull": true
  },
  "license": {
    "key": "mit",
    "name": "MIT License",
    "spdx_id": "MIT"
  }
}
When we started the company, most of our customers were small shops that needed a simple way to take orders online. Over the years they have grown, and so have their needs: today many of them run several stores, ship to other countries and work with partners who want to read their data through an interface of their own. This guide explains how the platform is organised, which parts you can change, and what happens behind the scenes when a request arrives. If something does not work as described, please contact the support team with the time of the problem and the identifier shown on the screen; there is no need to send the whole page. Read the section on limits before you build an integration that sends many requests in a short time, and remember that every account has its own settings for notifications, languages and payment methods. The examples use a test store, so you can try them without changing anything real. Thank you for choosing us, and enjoy the new features of this release.`

// Package evalset generates a seeded, labelled evaluation set for the PII
// classifier: realistic API messages (user profiles, orders, payments,
// auth responses, config dumps, error responses, SOAP envelopes, forms,
// query strings, headers, NDJSON logs; HR, payroll, KYC and customer
// records with country IDs) with checksum-valid positives of every type, single-character near-misses of the checksum types (which a
// classifier must reject) and the hard negatives of API traffic (UUIDs,
// epochs, long order numbers, GTINs, hashes, base64, versions,
// icon@2x.png, prices, timestamps, keys that only contain a hint
// substring). Every planted value is labelled with the walk package's path
// of its leaf; unlabelled leaves are plain negatives. Generate is
// deterministic for a seed; values are synthetic and guard nothing.
package evalset

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/apitap/apitap/analyzer/pii/walk"
)

// Locations.
const (
	ResponseBody  = "response.body"
	RequestBody   = "request.body"
	RequestQuery  = "request.query"
	RequestHeader = "request.header"
)

// Label kinds.
const (
	Positive     = "positive"
	NearMiss     = "near_miss"     // fails the type's check by one character: must not be reported as the type
	HardNegative = "hard_negative" // Type ""
)

// Types are the PII type names, as the classifier reports them; the last
// ones are CountryTypes.
var Types = append([]string{"email", "phone", "credit_card", "us_ssn", "iban", "date_of_birth", "street_address",
	"person_name", "ip_address", "passport_number", "bank_account", "jwt", "aws_access_key", "aws_secret_key",
	"github_token", "private_key", "api_key", "password", "connection_string", "session_token"}, CountryTypes...)

// Item is one message part.
type Item struct {
	Location string
	// ContentType is the body's media type; for a request.header item it
	// is the header name (Cookie, Authorization, X-Api-Key).
	ContentType string
	Body        []byte // the body, the raw query string or the header value
	Labels      []Label
}

// Label marks one planted value.
type Label struct {
	Path  string // the walker's path of the leaf
	Type  string // one of Types; "" for a hard negative
	Kind  string // Positive, NearMiss or HardNegative
	Value string // the value as the walker hands it out, or the planted substring of a free-text leaf
}

// Walk walks an item as the analyzer would: bodies by content type, query
// strings, Cookie headers by cookie; any other header is one leaf at
// "$.<header name, lower case>".
func Walk(w *walk.Walker, it *Item, visit walk.Visitor) error {
	switch it.Location {
	case RequestQuery:
		return w.Query(string(it.Body), visit)
	case RequestHeader:
		if strings.EqualFold(it.ContentType, "cookie") {
			return w.Cookies(string(it.Body), false, visit)
		}
		l := walk.Leaf{Path: []byte("$." + strings.ToLower(it.ContentType)), Value: it.Body, Kind: walk.String}
		visit(&l)
		return nil
	}
	return w.Body(it.ContentType, it.Body, visit)
}

// Generate returns n items from seed.
func Generate(seed int64, n int) []Item {
	g := gen{rand.New(rand.NewPCG(uint64(seed), 0x5eed_e7a1))}
	items := make([]Item, 0, n)
	for i := range n {
		t := templates[i%len(templates)]
		if i >= len(templates) {
			t = templates[g.n(len(templates))]
		}
		items = append(items, t(g))
	}
	return items
}

var templates = []func(gen) Item{userList, orders, payment, authResponse, configDump, errorResponse, soapEnvelope, signupForm, queryString, header, ndjsonLog, multipartUpload,
	ukEmployees, caPayroll, inKYC, esClientes, brClientes}

func jsonItem(g gen, loc, ct string, v any) Item {
	s := ser{esc: g.chance(0.15)}
	s.json(v, "$")
	return Item{Location: loc, ContentType: ct, Body: []byte(s.b.String()), Labels: s.labels}
}

// cardOrNear is a payment card in one of its forms, or its near-miss.
func (g gen) cardOrNear() lab {
	if g.chance(0.25) {
		return near("credit_card", g.nearCard())
	}
	pan := g.card()
	if g.chance(0.3) {
		pan = g.groupCard(pan)
	}
	return pos("credit_card", pan)
}

func (g gen) ibanOrNear() lab {
	if g.chance(0.25) {
		return near("iban", g.nearIBAN())
	}
	v := g.iban()
	if g.chance(0.3) {
		v = groupIBAN(v)
	}
	return pos("iban", v)
}

func (g gen) ssnOrNear() lab {
	if g.chance(0.2) {
		return near("us_ssn", g.nearSSN())
	}
	return pos("us_ssn", g.ssn())
}

func (g gen) githubOrNear() lab {
	if g.chance(0.25) {
		return near("github_token", g.nearGitHub())
	}
	return pos("github_token", g.githubToken())
}

func (g gen) awsOrNear() lab {
	if g.chance(0.2) {
		return near("aws_access_key", g.nearAWSKeyID())
	}
	return pos("aws_access_key", g.awsKeyID())
}

func (g gen) jwtOrNear() lab {
	if g.chance(0.2) {
		return near("jwt", g.nearJWT())
	}
	return pos("jwt", g.jwt())
}

func (g gen) user() obj {
	f, l := g.first(), g.last()
	u := obj{
		{"id", neg(g.uuid())},
		{"firstName", pos("person_name", f)},
		{"lastName", pos("person_name", l)},
		{"email", pos("email", g.email(f, l))},
		{"phone", pos("phone", g.phone())},
		{"dateOfBirth", pos("date_of_birth", g.dob())},
		{"createdAt", neg(g.isoTime())},
		{"updatedAt", negNum(g.epochMS())},
		{"avatar", neg(g.asset())},
		{"lastLoginIp", pos("ip_address", g.publicIP())},
		{"address", obj{{"street", pos("street_address", g.street())}, {"city", "Springfield"}, {"postalCode", "94105"}}},
	}
	if g.chance(0.6) {
		u = append(u, field{"ssn", g.ssnOrNear()})
	}
	if g.chance(0.5) {
		u = append(u, field{"passport_number", pos("passport_number", g.passport())})
	}
	if g.chance(0.5) {
		u = append(u, field{"bank_account", obj{{"account_number", pos("bank_account", g.bankAccount())}, {"iban", g.ibanOrNear()}}})
	}
	return u
}

func userList(g gen) Item {
	var users arr
	for range g.between(1, 3) {
		users = append(users, g.user())
	}
	return jsonItem(g, ResponseBody, g.pick("application/json", "application/json; charset=utf-8", "application/vnd.api+json"),
		obj{{"data", users}, {"meta", obj{{"total", num("42")}, {"version", neg(g.version())}, {"requestId", neg(g.uuid())}}}})
}

func orders(g gen) Item {
	var os arr
	for range g.between(1, 3) {
		f, l := g.first(), g.last()
		os = append(os, obj{
			{"orderNumber", neg(g.orderNumber())},
			{"orderId", negNum(g.orderNumber())},
			{"trackingNumber", neg(g.tracking())},
			{"items", arr{obj{{"sku", "SKU-" + g.str(upper, 4)}, {"gtin", neg(g.ean13())}, {"price", negNum(g.price())}, {"image", neg(g.asset())}}}},
			{"placedAt", neg(g.isoTime())},
			{"shipping", obj{{"name", pos("person_name", f+" "+l)}, {"street", pos("street_address", g.street())}, {"method", "ground"}}},
			{"payment", obj{{"cardNumber", g.cardOrNear()}, {"cardholderName", pos("person_name", f+" "+l)}, {"expiry", "12/29"}}},
			{"monkey", neg(g.str(base62, 20))},
		})
	}
	return jsonItem(g, ResponseBody, "application/json", obj{{"orders", os}, {"checksum", neg(g.hash())}})
}

func payment(g gen) Item {
	f, l := g.first(), g.last()
	return jsonItem(g, RequestBody, "application/json", obj{
		{"amount", negNum(g.price())},
		{"currency", "EUR"},
		{"card", obj{{"number", g.cardOrNear()}, {"cvc", "123"}}},
		{"billing", obj{{"full_name", pos("person_name", f+" "+l)}, {"street", pos("street_address", g.street())}, {"email", pos("email", g.email(f, l))}}},
		{"iban", g.ibanOrNear()},
		{"bank_account", pos("bank_account", g.bankAccount())},
		{"idempotencyKey", neg(g.uuid())},
		{"clientIp", pos("ip_address", g.publicIP())},
	})
}

func authResponse(g gen) Item {
	return jsonItem(g, ResponseBody, "application/json", obj{
		{"access_token", g.jwtOrNear()},
		{"id_token", pos("jwt", g.jwt())},
		{"refresh_token", pos("session_token", g.sessionToken())},
		{"session_token", pos("session_token", g.sessionToken())},
		{"token_type", "Bearer"},
		{"expires_in", num("3600")},
		{"issued_at", negNum(g.epochS())},
		{"nonce", neg(g.hash())},
		{"user", obj{{"email", pos("email", g.email(g.first(), g.last()))}, {"author", neg(g.first())}}},
	})
}

func configDump(g gen) Item {
	var svcs arr
	for range g.between(1, 2) {
		svcs = append(svcs, obj{
			{"name", "orders-" + g.str(hexchars, 4)},
			{"database_url", pos("connection_string", g.connString())},
			{"password", pos("password", g.password())},
			{"api_key", pos("api_key", g.apiKey())},
			{"aws", obj{{"access_key_id", g.awsOrNear()}, {"secret_access_key", pos("aws_secret_key", g.awsSecret())}}},
			{"github_token", g.githubOrNear()},
			{"private_key", pos("private_key", g.privateKey())},
			{"public_key", neg(g.publicKey())},
			{"smtp_password", neg(g.placeholder())},
			{"image_digest", neg("sha256:" + g.str(hexchars, 64))},
			{"build", neg(g.version())},
			{"keyboard_layout", neg("en-US")},
		})
	}
	return jsonItem(g, ResponseBody, "application/json", obj{{"services", svcs}, {"generatedAt", neg(g.isoTime())}})
}

func errorResponse(g gen) Item {
	e, ip := g.email(g.first(), g.last()), g.publicIP()
	tok := g.githubToken()
	msg := "login failed for " + e + " from " + ip + " using token " + tok + "; retry after 30s"
	return jsonItem(g, ResponseBody, "application/problem+json", obj{
		{"type", "https://errors.acme.io/auth"},
		{"title", "Unauthorized"},
		{"status", num("401")},
		{"detail", text{msg, []lab{pos("email", e), pos("ip_address", ip), pos("github_token", tok)}}},
		{"traceId", neg(g.str(hexchars, 32))},
		{"timestamp", negNum(g.epochS())},
		{"password_policy", neg("min 12 chars")},
	})
}

func soapEnvelope(g gen) Item {
	f, l := g.first(), g.last()
	body := obj{
		{"@id", neg(g.uuid())},
		{"ns2:customerId", negNum(g.orderNumber())},
		{"ns2:fullName", pos("person_name", f+" "+l)},
		{"ns2:email", pos("email", g.email(f, l))},
		{"ns2:phone", pos("phone", g.phone())},
		{"ns2:ssn", g.ssnOrNear()},
		{"ns2:birthDate", pos("date_of_birth", g.dob())},
		{"ns2:passportNumber", pos("passport_number", g.passport())},
		{"ns2:card", obj{{"@type", "visa"}, {"ns2:cardNumber", g.cardOrNear()}}},
		{"ns2:iban", g.ibanOrNear()},
		{"ns2:lastModified", neg(g.isoTime())},
	}
	s := ser{}
	s.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="urn:acme:customers"><soapenv:Header/><soapenv:Body>`)
	s.xml("ns2:GetCustomerResponse", body, "/Envelope/Body")
	s.b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	return Item{Location: ResponseBody, ContentType: g.pick("text/xml; charset=utf-8", "application/soap+xml"), Body: []byte(s.b.String()), Labels: s.labels}
}

func signupForm(g gen) Item {
	f, l := g.first(), g.last()
	v := obj{
		{"user", obj{{"email", pos("email", g.email(f, l))}, {"password", pos("password", g.password())}, {"first_name", pos("person_name", f)}, {"phone", pos("phone", g.phone())}}},
		{"card_number", g.cardOrNear()},
		{"shipping", neg("express")},
		{"passenger", neg(fmt.Sprint(g.between(1, 4)))},
		{"csrf_token", neg(g.b64blob())},
	}
	s := ser{}
	s.form(v, "", "$")
	return Item{Location: RequestBody, ContentType: "application/x-www-form-urlencoded", Body: []byte(s.b.String()), Labels: s.labels}
}

func queryString(g gen) Item {
	v := obj{
		{"email", pos("email", g.email(g.first(), g.last()))},
		{"api_key", pos("api_key", g.apiKey())},
		{"token", g.jwtOrNear()},
		{"session_token", pos("session_token", g.sessionToken())},
		{"ts", neg(g.epochS())},
		{"page", "2"},
		{"v", neg(g.version())},
	}
	s := ser{}
	s.form(v, "", "$")
	return Item{Location: RequestQuery, Body: []byte(s.b.String()), Labels: s.labels}
}

func header(g gen) Item {
	switch g.n(4) {
	case 0:
		t := g.jwtOrNear()
		return Item{Location: RequestHeader, ContentType: "Authorization", Body: []byte("Bearer " + t.v),
			Labels: []Label{{Path: "$.authorization", Type: t.typ, Kind: t.kind, Value: t.v}}}
	case 1:
		t := g.githubOrNear()
		return Item{Location: RequestHeader, ContentType: "Authorization", Body: []byte("token " + t.v),
			Labels: []Label{{Path: "$.authorization", Type: t.typ, Kind: t.kind, Value: t.v}}}
	case 2:
		k := g.apiKey()
		return Item{Location: RequestHeader, ContentType: "X-Api-Key", Body: []byte(k),
			Labels: []Label{{Path: "$.x-api-key", Type: "api_key", Kind: Positive, Value: k}}}
	}
	sid, anon := g.sessionToken(), g.uuid()
	return Item{Location: RequestHeader, ContentType: "Cookie", Body: []byte("session=" + sid + "; theme=dark; _ga=" + anon),
		Labels: []Label{{Path: "$.session", Type: "session_token", Kind: Positive, Value: sid}, {Path: "$._ga", Kind: HardNegative, Value: anon}}}
}

func ndjsonLog(g gen) Item {
	var b strings.Builder
	var labels []Label
	for range g.between(2, 4) {
		s := ser{}
		s.json(obj{{"ts", neg(g.isoTime())}, {"client_ip", pos("ip_address", g.publicIP())}, {"user", obj{{"email", pos("email", g.email(g.first(), g.last()))}}},
			{"aws_access_key_id", g.awsOrNear()}, {"latency_ms", num("12")}}, "$")
		b.WriteString(s.b.String())
		b.WriteByte('\n')
		labels = append(labels, s.labels...)
	}
	return Item{Location: ResponseBody, ContentType: "application/x-ndjson", Body: []byte(b.String()), Labels: labels}
}

func multipartUpload(g gen) Item {
	f, l := g.first(), g.last()
	meta := ser{}
	meta.json(obj{{"owner", obj{{"email", pos("email", g.email(f, l))}, {"date_of_birth", pos("date_of_birth", g.dob())}}},
		{"aws_secret_access_key", pos("aws_secret_key", g.awsSecret())}, {"checksum", neg(g.hash())}}, "$.metadata")
	name := f + " " + l
	pk := g.privateKey()
	var b strings.Builder
	bnd := "----form" + g.str(base62, 16)
	part := func(h, body string) {
		b.WriteString("--" + bnd + "\r\n" + h + "\r\n\r\n" + body + "\r\n")
	}
	part(`Content-Disposition: form-data; name="full_name"`, name)
	part("Content-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json", meta.b.String())
	part("Content-Disposition: form-data; name=\"private_key\"; filename=\"id.pem\"\r\nContent-Type: text/plain", pk)
	part("Content-Disposition: form-data; name=\"photo\"; filename=\"me.jpg\"\r\nContent-Type: image/jpeg", "\xff\xd8\xff\xe0JFIF")
	b.WriteString("--" + bnd + "--\r\n")
	labels := append([]Label{{Path: "$.full_name", Type: "person_name", Kind: Positive, Value: name}}, meta.labels...)
	labels = append(labels, Label{Path: "$.private_key", Type: "private_key", Kind: Positive, Value: pk})
	return Item{Location: RequestBody, ContentType: "multipart/form-data; boundary=" + bnd, Body: []byte(b.String()), Labels: labels}
}

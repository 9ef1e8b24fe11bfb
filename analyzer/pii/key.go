package pii

// Key context. A key is a JSON path ("$.user.shipping_address.street"), a
// header name or a parameter name. Hints come from whole tokens only: a
// segment is split on camelCase, '_', '-' and digits-to-letters is not a
// boundary; tokens, adjacent pairs and triples and the whole joined segment
// are looked up in a small open-addressing table, so "pin" never matches
// "shipping" and "key" never matches "monkey", and the lookup is a few
// nanoseconds without a map or an allocation.

type hint uint64

const (
	hEmail hint = 1 << iota
	hPhone
	hCard
	hSSN
	hIBAN
	hDOB
	hAddress
	hAddrWeak // line1: an address only under a person-ish parent
	hName     // first_name, surname: a person's name on its own
	hNameWeak // name: a person's name only under a person-ish parent
	hPerson   // user, customer, billing...: a person-ish segment
	hIP
	hPassport
	hBank
	hRouting
	hPassword
	hToken   // token, access_token, authorization: an opaque bearer secret
	hAPIKey  // api_key, x-api-key
	hSession // session, sid, jsessionid
	hConn    // dsn, database_url
	hAWS
	hAWSSecret
	hPrivKey
	hNeg     // id, order, tracking, timestamp...: silences digit detectors
	hKill    // as the last token, the segment is about something else (password_policy, key_id)
	hKillAny // public, csrf: anywhere in the segment
	hVersion // version, build: dotted quads are not addresses
	hNotAddr // mac, wallet, ip, email: "address" is not a postal address
	hAuthz   // Authorization headers: "Bearer x", "Basic x"
	hCookie  // Cookie, Set-Cookie headers: name=value pairs
	// country IDs (country.go): one hint per type or family, and the
	// generic tax/national id names, which confirm only the IDs whose
	// format is distinctive
	hNINO
	hNHS
	hSIN
	hAadhaar
	hPANIN // India PAN ("pan" is also a card's primary account number)
	hES    // dni, nie, nif
	hCPF
	hNatID // tax_id, national_id
)

const (
	// idHints are the country ID hints: value-validated, so parents lend
	// them and a killing last word keeps them ("nhs_id").
	idHints = hNINO | hNHS | hSIN | hAadhaar | hPANIN | hES | hCPF | hNatID
	// secretHints are the key-only secret classes, dropped by kill tokens.
	secretHints = hPassword | hToken | hAPIKey | hSession | hPrivKey | hAWSSecret | hConn
	// upHints are the hints a parent segment lends its leaf: value-validated
	// types only, so "$.card.number" is a card field but "$.secret.name" is
	// not a secret.
	upHints = hEmail | hPhone | hCard | hSSN | hIBAN | hDOB | hPassport | hBank | hIP | hAWS | hPerson | hAddress | idHints
	// keptOnKill survive a killing last token: "customer_name" keeps its
	// person parent, "order_id" its negative.
	keptOnKill = hNeg | hPerson | hAWS | hVersion | hNotAddr | idHints
)

var hintWords = map[string]hint{
	"email": hEmail, "mail": hEmail, "emailaddress": hEmail, "email1": hEmail, "email2": hEmail,
	"phone": hPhone, "phonenumber": hPhone, "mobile": hPhone, "cell": hPhone, "cellphone": hPhone,
	"tel": hPhone, "telephone": hPhone, "msisdn": hPhone, "fax": hPhone, "mobilephone": hPhone,
	"card": hCard, "cardnumber": hCard, "creditcard": hCard, "cc": hCard, "ccnum": hCard,
	"ccnumber": hCard, "pan": hCard | hPANIN, "cardno": hCard, "debitcard": hCard, "primaryaccountnumber": hCard,
	"ssn": hSSN, "socialsecurity": hSSN, "socialsecuritynumber": hSSN, "socialsecurityno": hSSN,
	"iban": hIBAN, "ibannumber": hIBAN,
	"dob": hDOB, "birthday": hDOB, "birthdate": hDOB, "dateofbirth": hDOB, "birth": hDOB, "born": hDOB,
	"address": hAddress, "street": hAddress, "addr": hAddress, "addressline": hAddress,
	"streetaddress": hAddress, "addrline": hAddress, "address1": hAddress, "address2": hAddress,
	"line1": hAddrWeak, "line2": hAddrWeak,
	"firstname": hName, "lastname": hName, "fullname": hName, "givenname": hName,
	"familyname": hName, "surname": hName, "middlename": hName, "forename": hName, "maidenname": hName,
	"name": hNameWeak | hKill,
	"user": hPerson, "users": hPerson, "customer": hPerson, "customers": hPerson, "person": hPerson,
	"patient": hPerson, "contact": hPerson, "contacts": hPerson, "billing": hPerson, "shipping": hPerson,
	"profile": hPerson, "member": hPerson, "employee": hPerson, "owner": hPerson, "holder": hPerson | hKill,
	"cardholder": hPerson, "recipient": hPerson, "sender": hPerson, "buyer": hPerson, "passenger": hPerson,
	"guest": hPerson, "applicant": hPerson, "beneficiary": hPerson, "payer": hPerson, "payee": hPerson,
	"account": hPerson, "student": hPerson, "client": hPerson, "traveler": hPerson, "traveller": hPerson,
	"ip": hIP, "ipaddress": hIP, "ipv4": hIP, "ipv6": hIP, "remoteaddr": hIP, "xforwardedfor": hIP,
	"xrealip": hIP, "forwardedfor": hIP, "remoteip": hIP, "clientip": hIP,
	"passport": hPassport, "passportno": hPassport, "passportnumber": hPassport, "passportid": hPassport,
	"accountnumber": hBank, "acct": hBank, "acctno": hBank, "acctnum": hBank, "accountno": hBank,
	"bankaccount": hBank, "bankaccountnumber": hBank, "sortcode": hBank, "bsb": hBank,
	"routing": hRouting, "routingnumber": hRouting, "aba": hRouting, "abarouting": hRouting,
	"password": hPassword, "passwd": hPassword, "pwd": hPassword, "pass": hPassword,
	"secret": hPassword, "passphrase": hPassword, "passcode": hPassword, "pin": hPassword,
	"clientsecret": hPassword, "otpsecret": hPassword, "totpsecret": hPassword, "pword": hPassword,
	"token": hToken, "accesstoken": hToken, "refreshtoken": hToken, "idtoken": hToken,
	"authtoken": hToken, "bearer": hToken, "jwt": hToken, "credential": hToken, "credentials": hToken,
	"authorization": hToken | hAuthz,
	"apikey":        hAPIKey, "apitoken": hAPIKey, "apisecret": hAPIKey, "accesskey": hAPIKey,
	"secretkey": hAPIKey, "privatetoken": hAPIKey, "webhooksecret": hAPIKey, "signingkey": hAPIKey,
	"session": hSession, "sessionid": hSession, "sid": hSession, "sessid": hSession,
	"jsessionid": hSession, "phpsessid": hSession, "sessiontoken": hSession, "sessionkey": hSession,
	"dsn": hConn, "connectionstring": hConn, "connstring": hConn, "connstr": hConn,
	"databaseurl": hConn, "dburl": hConn, "datasource": hConn, "mongouri": hConn, "mongourl": hConn,
	"redisurl": hConn, "jdbcurl": hConn, "databaseuri": hConn,
	"aws": hAWS, "amazon": hAWS,
	"awssecretaccesskey": hAWSSecret, "secretaccesskey": hAWSSecret, "awssecretkey": hAWSSecret,
	"awssecret":  hAWSSecret,
	"privatekey": hPrivKey, "sshkey": hPrivKey, "pem": hPrivKey, "rsakey": hPrivKey,
	"cookie": hCookie, "setcookie": hCookie,
	// country IDs; joined forms for the one-word fast path
	"nino": hNINO, "ninumber": hNINO, "nationalinsurance": hNINO,
	"nationalinsurancenumber": hNINO, "nationalinsuranceno": hNINO,
	"nhs": hNHS, "nhsnumber": hNHS, "nhsno": hNHS, "nhsnum": hNHS,
	"sin": hSIN, "sinnumber": hSIN, "sinno": hSIN, "socialinsurance": hSIN, "socialinsurancenumber": hSIN,
	"aadhaar": hAadhaar, "aadhar": hAadhaar, "aadhaarnumber": hAadhaar, "aadhaarno": hAadhaar,
	"aadharnumber": hAadhaar, "aadharno": hAadhaar, "uidai": hAadhaar,
	"pannumber": hPANIN, "panno": hPANIN, "pancard": hPANIN, "permanentaccountnumber": hPANIN,
	"dni": hES, "nie": hES, "nif": hES, "dninie": hES, "nifnie": hES, "dninumber": hES, "nienumber": hES,
	"cpf": hCPF, "cpfnumber": hCPF, "cpfno": hCPF,
	"taxid": hNatID, "taxnumber": hNatID, "taxno": hNatID, "taxidnumber": hNatID, "nationalid": hNatID,
	"nationalidnumber": hNatID, "nationalidentifier": hNatID, "nationalidentity": hNatID,
	"governmentid": hNatID, "govid": hNatID,
	// negatives for digit detectors; the killing ones also end secret hints
	"id": hNeg | hKill, "ids": hNeg | hKill, "uuid": hNeg | hKill, "guid": hNeg | hKill,
	"sku": hNeg, "order": hNeg, "invoice": hNeg, "tracking": hNeg, "ean": hNeg, "upc": hNeg,
	"gtin": hNeg, "isbn": hNeg, "ts": hNeg, "timestamp": hNeg, "time": hNeg, "created": hNeg | hKill,
	"updated": hNeg | hKill, "update": hKill, "exp": hNeg | hKill, "iat": hNeg, "nbf": hNeg,
	"hash": hNeg | hKill, "sha": hNeg, "sha1": hNeg, "sha256": hNeg, "md5": hNeg, "checksum": hNeg,
	"crc": hNeg, "etag": hNeg, "nonce": hNeg, "trace": hNeg, "span": hNeg, "request": hNeg,
	"correlation": hNeg, "price": hNeg, "amount": hNeg, "total": hNeg, "count": hNeg | hKill,
	"page": hNeg, "offset": hNeg, "limit": hNeg, "lat": hNeg, "lng": hNeg, "lon": hNeg,
	"latitude": hNeg, "longitude": hNeg, "size": hNeg, "qty": hNeg, "quantity": hNeg,
	"reference": hNeg, "ref": hNeg, "transaction": hNeg, "txn": hNeg, "shipment": hNeg,
	"parcel": hNeg, "barcode": hNeg, "serial": hNeg, "product": hNeg,
	"version": hVersion | hNeg | hKill, "ver": hVersion | hNeg, "build": hVersion | hNeg,
	"release": hVersion | hNeg, "oid": hVersion | hNeg,
	"v": hVersion | hNeg, "appv": hVersion | hNeg, "appver": hVersion | hNeg, "vsn": hVersion | hNeg,
	"flash": hVersion | hNeg, "firmware": hVersion | hNeg, "fw": hVersion | hNeg,
	"type": hKill, "kind": hKill, "policy": hKill, "length": hKill, "len": hKill, "hint": hKill,
	"expiry": hKill, "expires": hKill, "expiration": hKill, "at": hKill, "enabled": hKill,
	"required": hKill, "min": hKill, "max": hKill, "format": hKill, "status": hKill, "url": hKill,
	"field": hKill, "label": hKill, "digest": hKill, "salt": hKill, "strength": hKill,
	"rule": hKill, "rules": hKill, "regex": hKill, "pattern": hKill, "changed": hKill,
	"reset": hKill, "file": hKill, "path": hKill, "header": hKill, "mode": hKill,
	"algorithm": hKill, "alg": hKill, "method": hKill, "provider": hKill, "prompt": hKill,
	"ttl": hKill, "timeout": hKill, "error": hKill, "errors": hKill, "message": hKill,
	"last4": hKill | hNeg, "last": hKill, "suffix": hKill, "mask": hKill, "masked": hKill,
	"brand": hKill, "country": hKill, "bin": hKill, "prefix": hKill, "set": hKill,
	"verified": hKill, "exists": hKill, "present": hKill, "flag": hKill, "scope": hKill,
	"public": hKillAny, "csrf": hKillAny, "xsrf": hKillAny, "publishable": hKillAny,
	"mac": hNotAddr, "wallet": hNotAddr, "crypto": hNotAddr, "btc": hNotAddr, "eth": hNotAddr,
	"contract": hNotAddr, "server": hNotAddr, "host": hNotAddr, "remote": hNotAddr,
	"network": hNotAddr, "web": hNotAddr, "node": hNotAddr, "memory": hNotAddr,
	"hardware": hNotAddr, "bluetooth": hNotAddr, "bitcoin": hNotAddr, "ethereum": hNotAddr,
}

const tableBits = 10

// maxWord is the longest hint word; longer n-grams are not looked up.
const maxWord = 24

type tableEntry struct {
	k string
	h hint
}

var hintTable [1 << tableBits]tableEntry

func init() {
	if len(hintWords) > len(hintTable)/2 {
		panic("pii: hint table too small")
	}
	for k, h := range hintWords {
		if len(k) > maxWord {
			panic("pii: hint word too long: " + k)
		}
		i := fnv([]byte(k)) & (1<<tableBits - 1)
		for hintTable[i].k != "" {
			i = (i + 1) & (1<<tableBits - 1)
		}
		hintTable[i] = tableEntry{k, h}
	}
}

func fnv(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

func lookup(b []byte) hint { return lookupHash(b, fnv(b)) }

// lookupHash looks b up given its fnv hash.
func lookupHash(b []byte, hv uint32) hint {
	if len(b) == 0 || len(b) > maxWord {
		return 0
	}
	i := hv & (1<<tableBits - 1)
	for {
		e := &hintTable[i]
		if e.k == "" {
			return 0
		}
		if e.k == string(b) {
			return e.h
		}
		i = (i + 1) & (1<<tableBits - 1)
	}
}

// keyCtx is a key reduced to hints: leaf for the last named segment, up for
// the two named segments above it. up is computed only when asked for (most
// leaves are decided by their own segment), so a deep path costs no more
// than a short one.
type keyCtx struct {
	leaf, up hint
	rest     []byte // the key before the leaf segment
	upDone   bool
}

func (k *keyCtx) has(h hint) bool { return k.leaf&h != 0 }

func (k *keyCtx) parents() hint {
	if !k.upDone {
		k.upDone = true
		k.up = parentHints(k.rest)
	}
	return k.up
}

// hinted reports whether the leaf (or, for upHints, a parent) names h and
// the leaf is not a negative such as "id".
func (k *keyCtx) hinted(h hint) bool {
	if k.leaf&h != 0 {
		return true
	}
	return h&upHints != 0 && k.leaf&hNeg == 0 && k.parents()&h != 0
}

func (k *keyCtx) person() bool { return k.leaf&hPerson != 0 || k.parents()&hPerson != 0 }

func isSegSep(c byte) bool {
	switch c {
	case '.', '/', '[', ']', '$', '*', '\'', '"', ' ', '#', ':', '?', '&', '=':
		return true
	}
	return false
}

// nextSeg returns the last segment of key[:end] and where it starts.
func nextSeg(key []byte, end int) (seg []byte, start int) {
	for end > 0 && isSegSep(key[end-1]) {
		end--
	}
	start = end
	for start > 0 && !isSegSep(key[start-1]) {
		start--
	}
	return key[start:end], start
}

// parseKey reads the last named segment of key.
func parseKey(key []byte) keyCtx {
	end := len(key)
	for end > 0 {
		seg, start := nextSeg(key, end)
		if len(seg) == 0 {
			break
		}
		end = start
		if h, named := segHints(seg); named {
			return keyCtx{leaf: h, rest: key[:start]}
		}
	}
	return keyCtx{upDone: true}
}

// parentHints is the union of the hints of the two named segments that
// end rest.
func parentHints(rest []byte) hint {
	var up hint
	end, seen := len(rest), 0
	for end > 0 && seen < 2 {
		seg, start := nextSeg(rest, end)
		if len(seg) == 0 {
			break
		}
		end = start
		if h, named := segHints(seg); named {
			up |= h
			seen++
		}
	}
	return up
}

const (
	kSep = iota
	kLower
	kUpper
	kDigit
)

var keyClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch b := byte(c); {
		case isLower(b):
			t[c] = kLower
		case isUpper(b):
			t[c] = kUpper
		case isDigit(b):
			t[c] = kDigit
		}
	}
	return t
}()

// segHints returns the hints of one segment and whether it has a letter.
func segHints(seg []byte) (hint, bool) {
	if len(seg) > 64 {
		seg = seg[len(seg)-64:]
	}
	// fast path: one lower-case word ("status", "email", "sha256"), the
	// common JSON key, is a single lookup with nothing to combine
	hv := uint32(2166136261)
	letter := false
	i := 0
	for ; i < len(seg); i++ {
		c := seg[i]
		k := keyClass[c]
		if k != kLower && k != kDigit {
			break
		}
		letter = letter || k == kLower
		hv ^= uint32(c)
		hv *= 16777619
	}
	if i == len(seg) {
		return lookupHash(seg, hv), letter
	}
	return segHintsSlow(seg)
}

func segHintsSlow(seg []byte) (hint, bool) {
	var buf [64]byte
	var bounds [10]uint8 // token starts in buf, then the end
	n, nb := 0, 0
	letter := false
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch keyClass[c] {
		case kLower:
			letter = true
		case kUpper:
			letter = true
			// camelCase: a boundary before an upper after a lower, or before
			// the last upper of an acronym followed by a lower (APIKey).
			if i > 0 && n > 0 {
				p := seg[i-1]
				if (p >= 'a' && p <= 'z') || (p >= '0' && p <= '9') ||
					(p >= 'A' && p <= 'Z' && i+1 < len(seg) && seg[i+1] >= 'a' && seg[i+1] <= 'z') {
					if nb < len(bounds)-1 && int(bounds[nb-1]) != n {
						bounds[nb] = uint8(n)
						nb++
					}
				}
			}
			c += 'a' - 'A'
		case kDigit:
		default:
			if n > 0 && nb < len(bounds)-1 && int(bounds[nb-1]) != n {
				bounds[nb] = uint8(n)
				nb++
			}
			continue
		}
		if nb == 0 {
			bounds[0] = uint8(n)
			nb = 1
		}
		buf[n] = c
		n++
	}
	if !letter || n == 0 {
		return 0, false
	}
	if int(bounds[nb-1]) != n {
		bounds[nb] = uint8(n)
		nb++
	}
	ntok := nb - 1
	var pos, tail, all, lastTok hint
	for a := 0; a < ntok; a++ {
		hv := uint32(2166136261)
		for w := 1; w <= 3 && a+w <= ntok; w++ {
			for _, c := range buf[bounds[a+w-1]:bounds[a+w]] {
				hv ^= uint32(c)
				hv *= 16777619
			}
			h := lookupHash(buf[bounds[a]:bounds[a+w]], hv)
			all |= h
			if w == 1 && a == ntok-1 {
				lastTok = h
			}
			if a+w == ntok {
				tail |= h
			} else {
				pos |= h
			}
		}
	}
	if ntok > 3 {
		h := lookup(buf[:n])
		all |= h
		tail |= h
	}
	if lastTok&hKill != 0 && tail&^(hKill|keptOnKill|hNameWeak) == 0 {
		pos &= keptOnKill
	}
	h := pos | tail
	if all&hKillAny != 0 {
		h &^= secretHints
	}
	if h&(hIP|hEmail|hNotAddr) != 0 {
		h &^= hAddress | hAddrWeak
	}
	return h, true
}

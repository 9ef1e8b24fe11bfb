package scenario

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// The shop's data: users (with their accounts and orders), the product
// catalogue, the customer records the export serves and the reports. All
// of it follows from the seed; nothing is read from disk.

// user is one login of the shop.
type user struct {
	ID       int
	Username string
	Password string
	Name     string
	Email    string
	Phone    string
	Role     string // "user", "admin" or "service"
	Plan     string
	Created  time.Time
	Accounts []int // the account ids the user owns
}

// account is a billing account owned by one user.
type account struct {
	ID       int
	Owner    int // user id
	Name     string
	Currency string
	Balance  int // cents
	Status   string
	Created  time.Time
	Street   string
	City     string
	Postcode string
	Country  string
}

type product struct {
	ID       int
	SKU      string
	Name     string
	Category string
	Price    int // cents
	Stock    int
	Rating   float64
	Reviews  int
}

// data is everything the server serves.
type data struct {
	seed     uint64
	users    []*user // users[i].ID == i+1
	byName   map[string]*user
	byEmail  map[string]*user
	accounts map[int]*account
	// accountIDs are the existing account ids in ascending order;
	// firstAccount..lastAccount is the id range (with gaps: closed
	// accounts answer 404).
	accountIDs                []int
	firstAccount, lastAccount int
	products                  []*product // products[i].ID == i+1
	nCustomers                int
	rowsOnce                  sync.Once
	csvRows, jsonRows         [][]byte // the customers, formatted
	nReports                  int
	secret                    []byte // the token signing key
}

var (
	firstNames = []string{"olivia", "liam", "emma", "noah", "ava", "elijah", "sophia", "james", "isabella", "lucas",
		"mia", "mateo", "amelia", "benjamin", "harper", "theo", "evelyn", "henry", "luna", "oliver", "camila",
		"jack", "gianna", "levi", "aria", "sebastian", "ella", "daniel", "nora", "samuel", "hazel", "david",
		"zoe", "joseph", "riley", "carter", "victoria", "owen", "lily", "wyatt", "aurora", "john", "violet",
		"julian", "nova", "luke", "emilia", "grayson", "chloe", "ezra", "priya", "arjun", "yuki", "kenji",
		"fatima", "omar", "ines", "hugo", "lea", "jonas", "anna", "lukas", "sofia", "marco", "chiara", "pablo"}
	lastNames = []string{"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
		"martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson",
		"martin", "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson",
		"walker", "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores", "green",
		"adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "patel",
		"kim", "tanaka", "mueller", "schmidt", "dubois", "rossi", "novak", "kowalski", "silva", "costa", "haddad"}
	mailDomains = []string{"gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "fastmail.com",
		"gmx.de", "web.de", "orange.fr", "hotmail.co.uk", "aol.com", "zoho.com", "mail.ru", "qq.com"}
	cities = []struct{ City, Country, Currency string }{
		{"New York", "US", "USD"}, {"Austin", "US", "USD"}, {"Seattle", "US", "USD"}, {"Chicago", "US", "USD"},
		{"Denver", "US", "USD"}, {"Boston", "US", "USD"}, {"Portland", "US", "USD"}, {"Miami", "US", "USD"},
		{"Toronto", "CA", "CAD"}, {"London", "GB", "GBP"}, {"Manchester", "GB", "GBP"}, {"Berlin", "DE", "EUR"},
		{"Munich", "DE", "EUR"}, {"Paris", "FR", "EUR"}, {"Lyon", "FR", "EUR"}, {"Madrid", "ES", "EUR"},
		{"Milan", "IT", "EUR"}, {"Amsterdam", "NL", "EUR"}, {"Stockholm", "SE", "SEK"}, {"Sydney", "AU", "AUD"}}
	streets = []string{"Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Park Road", "High Street",
		"Elm Street", "Lake View", "Hillside Way", "Station Road", "Church Lane", "Mill Road", "River Walk"}
	usAreaCodes = []int{212, 213, 303, 305, 312, 404, 415, 503, 512, 617, 646, 702, 206, 720, 971, 818, 470}
	adjectives  = []string{"Classic", "Organic", "Wireless", "Compact", "Premium", "Vintage", "Ergonomic", "Smart",
		"Handmade", "Eco", "Ultra", "Portable", "Deluxe", "Rustic", "Modern", "Travel", "Pro", "Mini"}
	nouns = []string{"Coffee Grinder", "Desk Lamp", "Backpack", "Water Bottle", "Headphones", "Notebook", "Chair",
		"Yoga Mat", "Tea Kettle", "Sunglasses", "Keyboard", "Plant Pot", "Blanket", "Candle", "Watch", "Speaker",
		"Phone Case", "Cutting Board", "Wallet", "Umbrella", "Sneakers", "Jacket", "Mug", "Cookbook"}
	categories = []string{"kitchen", "office", "outdoor", "audio", "home", "fashion", "fitness", "books"}
	plans      = []string{"free", "starter", "starter", "pro", "pro", "business"}
)

// rng returns a generator for one purpose and index: the same seed gives
// the same values, whatever was drawn before.
func rng(seed uint64, purpose string, i int) *rand.Rand {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(purpose) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return rand.New(rand.NewPCG(seed^h, uint64(i)*0x9e3779b97f4a7c15+h))
}

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

// phone returns a plausible, non-fictional-range phone number.
func phone(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0:
		return fmt.Sprintf("+44 20 %04d %04d", 3000+r.IntN(6000), r.IntN(10000))
	case 1:
		return fmt.Sprintf("+49 30 %07d", 2000000+r.IntN(7000000))
	case 2:
		return fmt.Sprintf("+33 1 %02d %02d %02d %02d", 40+r.IntN(50), r.IntN(100), r.IntN(100), r.IntN(100))
	default:
		return fmt.Sprintf("+1 %d-%03d-%04d", pick(r, usAreaCodes), 200+r.IntN(700), r.IntN(10000))
	}
}

func password(r *rand.Rand) string {
	const letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	if r.IntN(3) == 0 {
		words := []string{"Sunset", "Harbor", "Maple", "Falcon", "Cobalt", "Meadow", "Quartz", "Rocket"}
		return fmt.Sprintf("%s%s%d!", pick(r, words), pick(r, words), 10+r.IntN(90))
	}
	b := make([]byte, 12+r.IntN(6))
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// epoch is when the shop's data begins (account creation dates etc.).
var epoch = time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)

func newData(seed uint64, nUsers int) *data {
	d := &data{
		seed:       seed,
		byName:     map[string]*user{},
		byEmail:    map[string]*user{},
		accounts:   map[int]*account{},
		nCustomers: 25000,
		nReports:   60,
	}
	r := rng(seed, "data", 0)
	d.secret = make([]byte, 32)
	for i := range d.secret {
		d.secret[i] = byte(r.Uint32())
	}
	nextAccount := 10001 + r.IntN(9)*1000
	d.firstAccount = nextAccount
	for i := 1; i <= nUsers; i++ {
		ur := rng(seed, "user", i)
		first, last := pick(ur, firstNames), pick(ur, lastNames)
		name := first + "." + last
		for n := 2; d.byName[name] != nil; n++ {
			name = fmt.Sprintf("%s.%s%d", first, last, n)
		}
		u := &user{
			ID:       i,
			Username: name,
			Password: password(ur),
			Name:     strings.ToUpper(first[:1]) + first[1:] + " " + strings.ToUpper(last[:1]) + last[1:],
			Phone:    phone(ur),
			Role:     "user",
			Plan:     pick(ur, plans),
			Created:  epoch.Add(time.Duration(ur.IntN(5*365*24)) * time.Hour),
		}
		u.Email = strings.ReplaceAll(name, ".", []string{".", "_", ""}[ur.IntN(3)]) + "@" + pick(ur, mailDomains)
		for d.byEmail[u.Email] != nil {
			u.Email = fmt.Sprintf("%s%d@%s", strings.ReplaceAll(name, ".", ""), ur.IntN(100), pick(ur, mailDomains))
		}
		nAcc := 1
		if x := ur.IntN(10); x >= 6 {
			nAcc = 2
			if x == 9 {
				nAcc = 3
			}
		}
		for range nAcc {
			// Closed accounts leave holes in the id range.
			for ur.IntN(12) == 0 {
				nextAccount++
			}
			c := pick(ur, cities)
			a := &account{
				ID:       nextAccount,
				Owner:    i,
				Name:     []string{"Personal", "Store", "Household", "Side business", "Team"}[ur.IntN(5)],
				Currency: c.Currency,
				Balance:  ur.IntN(500000),
				Status:   []string{"active", "active", "active", "active", "suspended"}[ur.IntN(5)],
				Created:  u.Created.Add(time.Duration(ur.IntN(400*24)) * time.Hour),
				Street:   fmt.Sprintf("%d %s", 1+ur.IntN(400), pick(ur, streets)),
				City:     c.City,
				Postcode: fmt.Sprintf("%05d", 1000+ur.IntN(98000)),
				Country:  c.Country,
			}
			d.accounts[a.ID] = a
			d.accountIDs = append(d.accountIDs, a.ID)
			u.Accounts = append(u.Accounts, a.ID)
			nextAccount++
		}
		d.users = append(d.users, u)
		d.byName[u.Username] = u
		d.byEmail[u.Email] = u
	}
	d.lastAccount = nextAccount - 1
	for i := 1; i <= 480; i++ {
		pr := rng(seed, "product", i)
		p := &product{
			ID:       i,
			SKU:      fmt.Sprintf("%s-%05d", strings.ToUpper(pick(pr, categories)[:3]), 10000+pr.IntN(90000)),
			Name:     pick(pr, adjectives) + " " + pick(pr, nouns),
			Category: pick(pr, categories),
			Price:    199 + pr.IntN(25000),
			Stock:    pr.IntN(300),
			Rating:   float64(25+pr.IntN(26)) / 10,
			Reviews:  pr.IntN(2500),
		}
		d.products = append(d.products, p)
	}
	return d
}

// order is one order of an account.
type order struct {
	ID       int
	Account  int
	Status   string
	Created  time.Time
	Items    []orderItem
	Total    int
	Currency string
}

type orderItem struct {
	Product  int
	Name     string
	Quantity int
	Price    int
}

// orders returns the account's historical orders (created ones are added
// by the server).
func (d *data) orders(a *account) []order {
	r := rng(d.seed, "orders", a.ID)
	n := r.IntN(7)
	out := make([]order, 0, n)
	t := a.Created
	for k := range n {
		t = t.Add(time.Duration(24+r.IntN(90*24)) * time.Hour)
		o := order{
			ID:       a.ID*100 + k + 1,
			Account:  a.ID,
			Status:   []string{"delivered", "delivered", "delivered", "shipped", "cancelled", "refunded"}[r.IntN(6)],
			Created:  t,
			Currency: a.Currency,
		}
		for range 1 + r.IntN(4) {
			p := d.products[r.IntN(len(d.products))]
			it := orderItem{Product: p.ID, Name: p.Name, Quantity: 1 + r.IntN(3), Price: p.Price}
			o.Items = append(o.Items, it)
			o.Total += it.Price * it.Quantity
		}
		out = append(out, o)
	}
	return out
}

// customer is one record of the customer export (the shop's end
// customers: names, e-mail addresses, phone numbers).
type customer struct {
	ID        int
	First     string
	Last      string
	Email     string
	Phone     string
	City      string
	Country   string
	Created   time.Time
	Orders    int
	Lifetime  int // cents
	Marketing bool
}

func (d *data) customer(i int) customer {
	r := rng(d.seed, "customer", i)
	first, last := pick(r, firstNames), pick(r, lastNames)
	c := pick(r, cities)
	sep := []string{".", "_", "", "-"}[r.IntN(4)]
	email := first + sep + last
	if r.IntN(3) == 0 {
		email += fmt.Sprint(r.IntN(1000))
	}
	return customer{
		ID:        100000 + i,
		First:     strings.ToUpper(first[:1]) + first[1:],
		Last:      strings.ToUpper(last[:1]) + last[1:],
		Email:     email + "@" + pick(r, mailDomains),
		Phone:     phone(r),
		City:      c.City,
		Country:   c.Country,
		Created:   epoch.Add(time.Duration(r.IntN(6*365*24)) * time.Hour),
		Orders:    r.IntN(40),
		Lifetime:  r.IntN(800000),
		Marketing: r.IntN(2) == 0,
	}
}

// customerRows returns every customer as a CSV line or a JSON object,
// formatted once.
func (d *data) customerRows(json bool) [][]byte {
	d.rowsOnce.Do(func() {
		d.csvRows = make([][]byte, d.nCustomers)
		d.jsonRows = make([][]byte, d.nCustomers)
		for i := range d.nCustomers {
			c := d.customer(i)
			d.csvRows[i] = fmt.Appendf(nil, "%d,%s,%s,%s,%s,%s,%s,%s,%d,%s,%v\n", c.ID, c.First, c.Last, c.Email, c.Phone, c.City, c.Country,
				c.Created.Format("2006-01-02"), c.Orders, money(c.Lifetime), c.Marketing)
			d.jsonRows[i] = fmt.Appendf(nil, `{"customer_id":%d,"first_name":%q,"last_name":%q,"email":%q,"phone":%q,"city":%q,"country":%q,"created_at":%q,"orders":%d,"lifetime_value":%q,"marketing_opt_in":%v}`,
				c.ID, c.First, c.Last, c.Email, c.Phone, c.City, c.Country, c.Created.Format("2006-01-02"), c.Orders, money(c.Lifetime), c.Marketing)
		}
	})
	if json {
		return d.jsonRows
	}
	return d.csvRows
}

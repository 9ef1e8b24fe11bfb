package pii

import (
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	cases := []struct {
		t    Type
		v    string
		want string
	}{
		{CreditCard, "4242 4242 4242 4242", "**** **** **** 4242"},
		{CreditCard, "4556737586899855", "**** **** **** 9855"},
		{USSSN, "123-45-6789", "***-**-6789"},
		{Email, "jane.doe@Gmail.COM", "j***@gmail.com"},
		{AWSAccessKey, "AKIAIOSFODNN7EXAMPLE", "AKIA************MPLE"},
		{GitHubToken, "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_********************************6789"},
		{APIKey, "sk_live_abcdefghijklmnopqrstuvwx", "sk_live_********************uvwx"},
		{Phone, "+1 415 555 2671", "+*********71"},
		{IBAN, "DE89 3704 0044 0532 0130 00", "DE****************3000"},
		{Password, "hunter2", "********"},
		{ConnectionString, "postgres://app:s3cret@db:5432/x", "postgres://app:****@db:5432/x"},
		{IPAddress, "8.8.4.4", "8.*.*.*"},
		{DateOfBirth, "1984-07-12", "****-**-**"},
		{PersonName, "Jane", "J***"},
		{SessionToken, "short", "*****"},
	}
	for _, c := range cases {
		got := Mask(c.t, []byte(c.v))
		if got != c.want {
			t.Errorf("Mask(%s, %q) = %q, want %q", c.t, c.v, got, c.want)
		}
	}
	// never the secret's middle
	for _, ty := range Types() {
		v := "ghp_SECRETMIDDLEPARTxxxxxxxxxxxxxxxxxxxx1234"
		if strings.Contains(Mask(ty, []byte(v)), "SECRETMIDDLE") {
			t.Errorf("Mask(%s) leaks the middle", ty)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := NewFingerprinter([]byte("key-a-0123456789abcdef0123456789"))
	b := NewFingerprinter([]byte("key-b-0123456789abcdef0123456789"))
	v := []byte("4556 7375 8689 9855")
	sa, sb := a.Sum(CreditCard, v), b.Sum(CreditCard, v)
	if sa == sb {
		t.Error("different keys give the same sum")
	}
	if len(sa) != 32 {
		t.Errorf("len = %d, want 32 hex chars", len(sa))
	}
	if strings.Contains(sa, "4556") && strings.Contains(sa, "9855") {
		t.Error("sum contains the value")
	}
	if a.Sum(CreditCard, []byte("4556-7375-8689-9855")) != sa || a.Sum(CreditCard, []byte("4556737586899855")) != sa {
		t.Error("card formatting changes the sum")
	}
	if a.Sum(Email, []byte("Jane@Acme.IO")) != a.Sum(Email, []byte("jane@acme.io")) {
		t.Error("email case changes the sum")
	}
	if a.Sum(USSSN, []byte("536228901")) == a.Sum(BankAccount, []byte("536228901")) {
		t.Error("type is not part of the sum")
	}
	if a.Sum(Password, []byte("x")) == a.Sum(Password, []byte("y")) {
		t.Error("collision")
	}
}

package regtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// addTLS writes a self-signed certificate for 127.0.0.1 and localhost and
// the configuration that serves it.
func (r *Registry) addTLS(cfg []byte) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "roost test registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	r.CACert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile := filepath.Join(r.Dir, "ca.crt"), filepath.Join(r.Dir, "registry.key")
	if err := os.WriteFile(certFile, r.CACert, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	return fmt.Appendf(cfg, "  tls:\n    certificate: %s\n    key: %s\n", certFile, keyFile), nil
}

// addUsers writes an htpasswd file (bcrypt, as the registry requires) and
// the configuration that asks for it.
func (r *Registry) addUsers(cfg []byte, users map[string]string) ([]byte, error) {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	var lines []string
	for _, n := range names {
		// The lowest cost: these are throwaway accounts, and a login
		// checks the hash on every request.
		hash, err := bcrypt.GenerateFromPassword([]byte(users[n]), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		lines = append(lines, n+":"+string(hash))
	}
	file := filepath.Join(r.Dir, "htpasswd")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	return fmt.Appendf(cfg, "auth:\n  htpasswd:\n    realm: roost-test-registry\n    path: %s\n", file), nil
}

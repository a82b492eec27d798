package regtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The token service's names, which the registry checks in every token.
const (
	tokenIssuer  = "roost-test-issuer"
	tokenService = "roost-test-registry"
	tokenKeyID   = "roost-test-key"
	// tokenLifetime is how long a token is valid.
	tokenLifetime = 5 * time.Minute
)

// tokenServer is a bearer token service for the registry, as Docker Hub's
// auth.docker.io is for Hub: it checks a user's password (HTTP basic on
// GET, the OAuth2 password grant on POST) and signs a JWT granting what
// the scope asked for. Anonymous requests get a token that grants
// nothing, so the registry refuses them as Hub refuses a private
// repository.
type tokenServer struct {
	users map[string]string
	key   *ecdsa.PrivateKey
	srv   *http.Server
	addr  string
}

// startTokenServer serves on a free loopback port and writes the public
// key as a JWKS file into dir for the registry.
func startTokenServer(dir string, users map[string]string) (*tokenServer, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	coord := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.FillBytes(make([]byte, 32))) }
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": tokenKeyID, "alg": "ES256", "use": "sig",
		"x": coord(key.X), "y": coord(key.Y),
	}}})
	jwksFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksFile, jwks, 0o644); err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	ts := &tokenServer{users: users, key: key, addr: ln.Addr().String()}
	ts.srv = &http.Server{Handler: http.HandlerFunc(ts.serveToken), ReadHeaderTimeout: 10 * time.Second}
	go ts.srv.Serve(ln)
	return ts, jwksFile, nil
}

// realm is the URL the registry sends clients to.
func (ts *tokenServer) realm() string { return "http://" + ts.addr + "/token" }

func (ts *tokenServer) close() { ts.srv.Close() }

// serveToken answers GET /token?service=…&scope=… with basic
// authentication, and POST /token with a password grant form.
func (ts *tokenServer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	var user, password string
	var hasUser bool
	var scopes []string
	switch r.Method {
	case http.MethodGet:
		user, password, hasUser = r.BasicAuth()
		scopes = r.URL.Query()["scope"]
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.PostForm.Get("grant_type") != "password" {
			// Refresh tokens are not issued, so none can come back.
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
			return
		}
		user, password, hasUser = r.PostForm.Get("username"), r.PostForm.Get("password"), true
		scopes = strings.Fields(r.PostForm.Get("scope"))
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if hasUser {
		if want, ok := ts.users[user]; !ok || want != password {
			// Docker Hub's answer, which dockerd shows as "unauthorized:
			// incorrect username or password".
			writeJSON(w, http.StatusUnauthorized, map[string]string{"details": "incorrect username or password"})
			return
		}
	}
	type access struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	granted := []access{}
	if hasUser {
		for _, s := range scopes {
			// repository:name:pull,push (a name may hold no colon, but
			// a registry's host:port never appears in it).
			parts := strings.Split(s, ":")
			if len(parts) < 3 {
				continue
			}
			granted = append(granted, access{
				Type:    parts[0],
				Name:    strings.Join(parts[1:len(parts)-1], ":"),
				Actions: strings.Split(parts[len(parts)-1], ","),
			})
		}
	}
	now := time.Now()
	token, err := ts.sign(map[string]any{
		"iss": tokenIssuer, "sub": user, "aud": tokenService,
		"exp": now.Add(tokenLifetime).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": fmt.Sprint(now.UnixNano()), "access": granted,
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token": token, "access_token": token,
		"expires_in": int(tokenLifetime.Seconds()), "issued_at": now.UTC().Format(time.RFC3339),
	})
}

// sign makes an ES256 JWT of claims.
func (ts *tokenServer) sign(claims map[string]any) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": tokenKeyID})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, ts.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return signed + "." + enc.EncodeToString(sig), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

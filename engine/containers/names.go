package containers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/engine/store"
)

// validName is dockerd's RestrictedNamePattern: at least two characters.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// validateName checks a user-given name (with or without '/') and returns
// it without the slash.
func validateName(name string) (string, error) {
	n := trimSlash(name)
	if !validName.MatchString(n) {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name))
	}
	return n, nil
}

// newID returns 64 random hex digits that do not look like a number (so an
// ID prefix is never mistaken for one), as dockerd's GenerateRandomID.
func newID() string {
	b := make([]byte, 32)
	for {
		rand.Read(b)
		id := hex.EncodeToString(b)
		if !allDigits(id[:12]) {
			return id
		}
	}
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// reserveName claims name for id. An empty name gets a generated one.
func (s *Service) reserveName(name, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" {
		if holder, ok := s.names[name]; ok {
			return "", store.NameConflict(name, holder)
		}
		s.names[name] = id
		return name, nil
	}
	for range 10 {
		n := randomName()
		if _, ok := s.names[n]; !ok {
			s.names[n] = id
			return n, nil
		}
	}
	// As dockerd, fall back on the short ID.
	s.names[id[:12]] = id
	return id[:12], nil
}

// releaseName frees a name reserved by id.
func (s *Service) releaseName(name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names[name] == id {
		delete(s.names, name)
	}
}

// randomName returns "adjective_bird", roost's answer to dockerd's
// generated names.
func randomName() string {
	return pick(adjectives) + "_" + pick(birds)
}

func pick(words []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
	return words[n.Int64()]
}

var adjectives = []string{
	"agile", "amber", "ancient", "ardent", "autumn", "bold", "brave", "breezy", "bright", "brisk",
	"calm", "candid", "cheerful", "clever", "cosmic", "crimson", "curious", "daring", "dawn", "deft",
	"eager", "early", "earnest", "elated", "fearless", "fervent", "fierce", "gentle", "gilded", "glad",
	"golden", "graceful", "hardy", "hidden", "humble", "jolly", "keen", "kind", "lively", "lucid",
	"lunar", "merry", "misty", "modest", "nimble", "noble", "patient", "placid", "plucky", "polar",
	"proud", "quick", "quiet", "radiant", "rapid", "restless", "rustic", "serene", "silent", "silver",
	"sleepy", "snowy", "solar", "spry", "steady", "stoic", "stormy", "sunny", "swift", "tender",
	"tidy", "tranquil", "vivid", "wandering", "wary", "wild", "wise", "witty", "young", "zealous",
}

var birds = []string{
	"albatross", "avocet", "bittern", "bluebird", "bunting", "buzzard", "cardinal", "cassowary", "chickadee", "condor",
	"cormorant", "crane", "crossbill", "cuckoo", "curlew", "dipper", "dove", "dunlin", "eagle", "egret",
	"falcon", "finch", "flamingo", "flycatcher", "gannet", "godwit", "goldfinch", "goshawk", "grebe", "grouse",
	"guillemot", "gull", "harrier", "hawk", "heron", "hoopoe", "hornbill", "hummingbird", "ibis", "jackdaw",
	"jay", "kestrel", "kingfisher", "kite", "kiwi", "lapwing", "lark", "linnet", "magpie", "mallard",
	"martin", "merlin", "nightingale", "nuthatch", "oriole", "osprey", "owl", "oystercatcher", "parakeet", "pelican",
	"peregrine", "petrel", "pheasant", "pipit", "plover", "puffin", "quail", "raven", "redstart", "robin",
	"rook", "sandpiper", "shrike", "siskin", "skylark", "sparrow", "starling", "stork", "swallow", "swift",
	"tanager", "tern", "thrush", "toucan", "turnstone", "vireo", "wagtail", "warbler", "waxwing", "wren",
}

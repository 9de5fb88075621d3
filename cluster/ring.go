package cluster

import (
	"hash/fnv"
	"math"
)

// Owner is the rendezvous (highest random weight) choice of tenant's
// replica among members: each member scores hash(member, tenant) and the
// highest wins. A member joining takes about 1/N of the tenants, each from
// whoever held it; a member leaving gives each of its tenants to that
// tenant's second choice; nobody else moves. Weights (capacity) scale the
// score as in weighted rendezvous hashing: -w / ln(u).
func Owner(tenant string, members []string, weight func(string) float64) string {
	best, bestScore := "", math.Inf(-1)
	for _, m := range members {
		s := score(m, tenant)
		if weight != nil {
			s = -weight(m) / math.Log(s)
		}
		if s > bestScore || (s == bestScore && m < best) {
			best, bestScore = m, s
		}
	}
	return best
}

// score is a uniform draw in (0, 1) from hash(member, tenant).
func score(member, tenant string) float64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(tenant))
	x := h.Sum64()
	// fnv's low bits mix poorly on short keys: finish with splitmix64.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return (float64(x>>11) + 0.5) / (1 << 53)
}

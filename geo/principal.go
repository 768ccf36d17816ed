package geo

import "time"

// Roles, from least to most trusted.
const (
	RoleViewer = "viewer"
	RoleEditor = "editor"
	RoleAdmin  = "admin"
)

// RoleRank orders the roles; an unknown role ranks 0.
func RoleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Principal is who a token belongs to.
type Principal struct {
	Name string
	Role string
}

// Editor reports whether the principal may write: editors and admins.
func (p Principal) Editor() bool { return RoleRank(p.Role) >= RoleRank(RoleEditor) }

// TokenInfo is what is known of a token besides its secret.
type TokenInfo struct {
	Name    string     `json:"name"`
	Role    string     `json:"role"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires"` // nil: never
	Expired bool       `json:"expired"`
}

// Package geo is the vocabulary of Nexus: incidents and routes, the changes
// made to them, the filters that select them, the rules they obey and the
// error codes every layer speaks. It imports only the standard library and orb.
package geo

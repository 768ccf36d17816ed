package pgstore_test

import (
	"testing"

	"nexus/store/storetest"
)

// TestConformance runs the store contract's suite on PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Engine { return openDB(t) })
}

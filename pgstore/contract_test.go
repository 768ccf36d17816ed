package pgstore_test

import (
	"nexus/api"
	"nexus/live"
	"nexus/overview"
	"nexus/pgstore"
	"nexus/watch"
)

// The engine is everything the server's parts need of a store.
var (
	_ api.Store           = (*pgstore.DB)(nil)
	_ live.Log            = (*pgstore.DB)(nil)
	_ overview.Source     = (*pgstore.DB)(nil)
	_ watch.Store         = (*pgstore.DB)(nil)
	_ watch.DeliveryStore = (*pgstore.DB)(nil)
)

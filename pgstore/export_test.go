package pgstore

// SetAfterLoadCommit makes every load of this process call f between its
// commit and its index builds.
func SetAfterLoadCommit(f func()) { afterLoadCommit = f }

// SetPlannedAhead makes every load of this process call f for each batch
// it works out as the batch is prepared (load.PrepareBatch).
func SetPlannedAhead(f func()) { plannedAhead = f }

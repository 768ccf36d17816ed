package pgstore

// SetAfterLoadCommit makes every load of this process call f between its
// commit and its index builds.
func SetAfterLoadCommit(f func()) { afterLoadCommit = f }

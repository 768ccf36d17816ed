package api

import (
	"nexus/geo"
)

// Sensitive records reach the caller through the store's filters (a filter
// made by Server.filter is Exact for editors) or, for what is read by id,
// through shown: either way viewers and anonymous readers get the coarse
// geometry of geo.Coarsened.

// shown is what the caller sees of a stored Feature of the collection.
func shown(p geo.Principal, c geo.Collection, feature []byte) ([]byte, error) {
	if p.Editor() {
		return feature, nil
	}
	return geo.PublicFeature(c, feature)
}

// shownAll applies shown to each Feature, in place.
func shownAll(p geo.Principal, c geo.Collection, features [][]byte) ([][]byte, error) {
	for i, f := range features {
		var err error
		if features[i], err = shown(p, c, f); err != nil {
			return nil, err
		}
	}
	return features, nil
}

// shownVersion is what the caller sees of one version of a record in its
// history: for viewers every version is coarsened while the record is
// sensitive now (current), and a version that was sensitive is coarsened
// whatever the record is now.
func shownVersion(p geo.Principal, c geo.Collection, feature []byte, current bool) ([]byte, error) {
	if p.Editor() || len(feature) == 0 {
		return feature, nil
	}
	if current {
		return geo.CoarseFeature(c, feature)
	}
	return geo.PublicFeature(c, feature)
}

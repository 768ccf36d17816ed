package pgstore

import "nexus/geo"

func compileCQL(c geo.Collection, e geo.Expr, a *args) (string, error) {
	return "", geo.Errorf(geo.EUNSUPPORTED, "filter expressions are not supported yet")
}

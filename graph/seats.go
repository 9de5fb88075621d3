package graph

// This file: the seats of a tenant, for the economics report (web). An MSP
// bills per seat: a user who can sign in and holds a license.

import (
	"context"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// Bounds of the listing Seats reads: seatsPage users a page (Graph's
// largest), at most seatsPages pages.
const (
	seatsPage  = 999
	seatsPages = 200
)

// Seats is the number of the tenant's users whose account is enabled and
// who hold at least one license (directly or through a group): GET /users
// filtered on accountEnabled, with assignedLicenses selected, every page.
// A tenant with more users than it reads (about 200,000) is an error, not
// a count short of the truth.
func (c *Client) Seats(ctx context.Context, tenant tierzero.TenantID) (int, error) {
	ub, err := c.users(tenant)
	if err != nil {
		return 0, err
	}
	top := int32(seatsPage)
	filter := "accountEnabled eq true"
	resp, err := ub.Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: &filter, Select: []string{"id", "accountEnabled", "assignedLicenses"}, Top: &top,
		},
	})
	n := 0
	truncated, err := eachPage(c, resp, err, func(link string) (models.UserCollectionResponseable, error) {
		return ub.WithUrl(link).Get(ctx, nil)
	}, seatsPages, func(us []models.Userable) {
		for _, u := range us {
			// The filter asked for enabled accounts; a page that
			// says otherwise is not counted.
			if en := u.GetAccountEnabled(); en != nil && !*en {
				continue
			}
			if len(u.GetAssignedLicenses()) > 0 {
				n++
			}
		}
	})
	if err != nil {
		return 0, pageError("count seats", err)
	}
	if truncated {
		return 0, tierzero.Errorf(tierzero.EUnavailable, "tenant %s has more than %d enabled users; seats were not counted", tenant, seatsPage*seatsPages)
	}
	return n, nil
}

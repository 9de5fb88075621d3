package graph

import (
	"errors"
	"net/url"
	"strings"

	"github.com/tierzero/tierzero"
)

// page is one page of a Graph collection as the SDK returns it.
type page[T any] interface {
	GetValue() []T
	GetOdataNextLink() *string
}

// eachPage walks a paged collection: resp and err are the first page's
// answer, next fetches the page an @odata.nextLink names, and visit sees each
// page's items. It reads at most maxPages pages and reports whether more
// remained. An SDK error is returned as it is, for the caller to wrap.
func eachPage[T any, P page[T]](c *Client, resp P, err error, next func(link string) (P, error), maxPages int, visit func([]T)) (truncated bool, _ error) {
	for pages := 1; ; pages++ {
		if err != nil {
			return false, err
		}
		visit(resp.GetValue())
		link := str(resp.GetOdataNextLink())
		if link == "" {
			return false, nil
		}
		if pages == maxPages {
			return true, nil
		}
		if err := c.checkPageLink(link); err != nil {
			return false, err
		}
		resp, err = next(link)
	}
}

// checkPageLink accepts an @odata.nextLink only on the client's own Graph
// service root, so a page link cannot send the next request elsewhere.
func (c *Client) checkPageLink(next string) error {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) ||
		!strings.HasPrefix(u.Path, strings.TrimSuffix(c.base.Path, "/")+"/") {
		return tierzero.Errorf(tierzero.EInternal, "Microsoft Graph returned a page link outside its service root")
	}
	return nil
}

// pageError wraps an error from eachPage: a refused page link is already a
// domain error; an SDK error is Graph's.
func pageError(op string, err error) error {
	var de *tierzero.Error
	if errors.As(err, &de) {
		return err
	}
	return graphError(op, err)
}

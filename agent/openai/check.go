package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/tierzero/tierzero"
)

// Check asks the endpoint for its list of models, to tell at startup
// whether it can be reached and accepts the API key: a refused key is an
// EUnauthorized error ("the model endpoint refused the API key"), an
// endpoint that cannot be reached an EUnavailable one ("the model endpoint
// at URL is unreachable: ..."). A list without the configured model is not
// an error: Azure lists models, not deployments, and vLLM or a proxy may
// name them their own way.
func (m *Model) Check(ctx context.Context) error {
	list, err := m.client.ListModels(ctx)
	if err != nil {
		return m.checkFailure(ctx, err)
	}
	listed := slices.ContainsFunc(list.Models, func(x goopenai.Model) bool { return x.ID == m.model })
	m.logger.LogAttrs(ctx, slog.LevelDebug, "llm check",
		slog.String("model", m.model),
		slog.Int("models", len(list.Models)),
		slog.Bool("listed", listed))
	return nil
}

// checkFailure turns an error of the model list into a tierzero error with
// a message for the operator; the detail follows, with the API key
// redacted.
func (m *Model) checkFailure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("check model endpoint: %w", ctx.Err())
	}
	status := httpStatus(err)
	var urlErr *url.Error
	var domain *tierzero.Error
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		domain = tierzero.Errorf(tierzero.EUnauthorized, "the model endpoint refused the API key (status %d)", status)
	case status == 0 && errors.As(err, &urlErr):
		// The transport's error says why (refused, no such host, TLS,
		// timeout): it is the message, not a detail.
		return fmt.Errorf("check model endpoint: %w",
			tierzero.Errorf(tierzero.EUnavailable, "the model endpoint at %s is unreachable: %s", m.redact(endpointOf(urlErr.URL)), m.redact(urlErr.Err.Error())))
	case status == http.StatusNotFound:
		domain = tierzero.Errorf(tierzero.EInvalid, "the model endpoint has no model list (status 404): is the base URL right? An OpenAI-compatible one usually ends in /v1")
	case status == http.StatusTooManyRequests || status >= 500:
		domain = tierzero.Errorf(tierzero.EUnavailable, "the model endpoint failed (status %d); try again later", status)
	case status >= 400:
		domain = tierzero.Errorf(tierzero.EInvalid, "the model endpoint rejected the request for its model list (status %d)", status)
	default:
		domain = tierzero.Errorf(tierzero.EInvalid, "the model endpoint did not answer like an OpenAI-compatible API")
	}
	return fmt.Errorf("check model endpoint: %w: %s", domain, m.redact(err.Error()))
}

// endpointOf is the base URL of the endpoint a request for the model list
// went to: the request's URL without its query and without the path
// go-openai added (/models; /openai/models for Azure, which alone sends an
// api-version).
func endpointOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	azure := u.Query().Has("api-version")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	u.Path = strings.TrimSuffix(u.Path, "/models")
	if azure {
		u.Path = strings.TrimSuffix(u.Path, "/openai")
	}
	u.RawPath = ""
	return u.String()
}

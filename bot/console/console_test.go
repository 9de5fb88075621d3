package console

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

type handler struct{ got []tierzero.Message }

func (h *handler) Handle(_ context.Context, m tierzero.Message) (tierzero.Reply, error) {
	h.got = append(h.got, m)
	switch m.Text {
	case "fail":
		return tierzero.Reply{}, errors.New("audit: disk full")
	case "fail after reset":
		return tierzero.Reply{Private: []tierzero.PrivateNote{{
			To: m.Requester, Secret: tierzero.NewSecret("temporary_password", "temporary password", "Pw-999999!x"),
		}}}, errors.New("save conversation: disk full")
	case "reset":
		return tierzero.Reply{Text: "Done.\nDelivered privately.", Private: []tierzero.PrivateNote{{
			To: m.Requester, Secret: tierzero.NewSecret("temporary_password", "temporary password", "Pw-123456!x"),
		}}}, nil
	}
	return tierzero.Reply{Text: "echo " + m.Text}, nil
}

var adele = tierzero.Requester{Tenant: "contoso", UPN: "adele.vance@contoso.com", ObjectID: "1"}

func TestRun(t *testing.T) {
	h := &handler{}
	var out bytes.Buffer
	c := &Console{In: strings.NewReader("hello\n\n  reset  \nfail\nfail after reset\nafter\n/quit\nnever\n"), Out: &out, Requester: adele, Conversation: "conv", Handler: h}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "tierzero: echo hello\n" +
		"[private to adele.vance@contoso.com] temporary password: Pw-123456!x\n" +
		"tierzero: Done.\ntierzero: Delivered privately.\n" +
		"tierzero: Sorry, I could not finish that safely: an internal error occurred. Nothing was changed.\n" +
		"[private to adele.vance@contoso.com] temporary password: Pw-999999!x\n" +
		"tierzero: Sorry, I could not finish that safely: an internal error occurred.\n" +
		"tierzero: echo after\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if len(h.got) != 5 {
		t.Fatalf("handled %d messages, want 5 (blank skipped, stop at /quit)", len(h.got))
	}
	for _, m := range h.got {
		if m.Tenant != "contoso" || m.Requester.UPN != adele.UPN || m.Conversation != "conv" || m.ID == "" {
			t.Fatalf("message not normalized: %+v", m)
		}
	}
	if h.got[1].Text != "reset" {
		t.Errorf("text = %q, want trimmed", h.got[1].Text)
	}
}

func TestRunRefusesHugeLine(t *testing.T) {
	h := &handler{}
	in := strings.Repeat("x", maxLine+1) + "\n"
	c := &Console{In: strings.NewReader(in), Out: &bytes.Buffer{}, Requester: adele, Conversation: "conv", Handler: h}
	if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v, want a clear too-long error", err)
	}
	if len(h.got) != 0 {
		t.Fatal("a truncated line was handled")
	}
}

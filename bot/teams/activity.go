package teams

import (
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// activity is an activity from the channel: msbotbuilder-go's
// schema.Activity, with the fields its types cannot decode from what Teams
// sends replaced by ours. Its Value is a map, so an Action.Submit whose data
// is a string would fail the whole activity; its Entity keeps only the
// type, so a mention would lose whom it names; its times fail on anything
// but RFC 3339.
type activity struct {
	schema.Activity
	Value          json.RawMessage `json:"value,omitempty"`
	ChannelData    json.RawMessage `json:"channelData,omitempty"`
	Entities       []entity        `json:"entities,omitempty"`
	Timestamp      string          `json:"timestamp,omitempty"`
	LocalTimestamp json.RawMessage `json:"localTimestamp,omitempty"`
	Expiration     json.RawMessage `json:"expiration,omitempty"`
}

// entity is an entity of an activity; a mention names whom it mentions.
type entity struct {
	Type      string                `json:"type"`
	Mentioned schema.ChannelAccount `json:"mentioned"`
	Text      string                `json:"text"`
}

// channelData is what Teams puts in an activity's channelData.
type channelData struct {
	Tenant struct {
		ID string `json:"id"`
	} `json:"tenant"`
	Team *struct {
		ID string `json:"id"`
	} `json:"team,omitempty"`
	Channel *struct {
		ID string `json:"id"`
	} `json:"channel,omitempty"`
	EventType string `json:"eventType,omitempty"`
}

func (a *activity) channelData() channelData {
	var cd channelData
	if len(a.ChannelData) > 0 {
		json.Unmarshal(a.ChannelData, &cd)
	}
	return cd
}

// time is when the activity was sent, or zero.
func (a *activity) time() time.Time {
	t, err := time.Parse(time.RFC3339Nano, a.Timestamp)
	if err != nil {
		return time.Time{}
	}
	return t
}

// personal reports whether the activity is from a personal (1:1) chat.
func (a *activity) personal() bool {
	return a.Conversation.ConversationType == "personal" ||
		(a.Conversation.ConversationType == "" && !a.Conversation.IsGroup)
}

// reference is where an answer to the activity goes: its conversation, the
// activity to reply to, the bot and the user. It is the Ref the desk keeps.
func (a *activity) reference(tenantID string) schema.ConversationReference {
	return schema.ConversationReference{
		ActivityID: a.ID,
		User:       schema.ChannelAccount{ID: a.From.ID, Name: a.From.Name, AadObjectID: a.From.AadObjectID},
		Bot:        schema.ChannelAccount{ID: a.Recipient.ID, Name: a.Recipient.Name},
		Conversation: schema.ConversationAccount{ID: a.Conversation.ID, ConversationType: a.Conversation.ConversationType,
			IsGroup: a.Conversation.IsGroup, TenantID: tenantID},
		ChannelID:  a.ChannelID,
		ServiceURL: a.ServiceURL,
	}
}

var atTag = regexp.MustCompile(`(?is)<at[^>]*>(.*?)</at>`)

// text is the activity's text with the mentions of the bot removed and
// other mentions reduced to the name they show.
func (a *activity) text() string {
	t := a.Text
	for _, e := range a.Entities {
		if e.Type == "mention" && e.Text != "" && e.Mentioned.ID != "" && e.Mentioned.ID == a.Recipient.ID {
			t = strings.ReplaceAll(t, e.Text, " ")
		}
	}
	t = atTag.ReplaceAllString(t, "$1")
	t = html.UnescapeString(t)
	t = strings.ReplaceAll(t, "\u00a0", " ")
	return strings.TrimSpace(t)
}

// outActivity is an activity the bot sends: only what is set is sent
// (schema.Activity would send zero times and empty structs).
type outActivity struct {
	Type         string                      `json:"type"`
	ID           string                      `json:"id,omitempty"`
	From         *schema.ChannelAccount      `json:"from,omitempty"`
	Recipient    *schema.ChannelAccount      `json:"recipient,omitempty"`
	Conversation *schema.ConversationAccount `json:"conversation,omitempty"`
	ReplyToID    string                      `json:"replyToId,omitempty"`
	Text         string                      `json:"text,omitempty"`
	TextFormat   string                      `json:"textFormat,omitempty"`
	Summary      string                      `json:"summary,omitempty"`
	Attachments  []schema.Attachment         `json:"attachments,omitempty"`
	ChannelData  map[string]any              `json:"channelData,omitempty"`
}

// cardContentType is the content type of an Adaptive Card.
const cardContentType = "application/vnd.microsoft.card.adaptive"

// message is a text message in ref's conversation.
func message(ref schema.ConversationReference, text string) *outActivity {
	a := &outActivity{Type: "message", Text: text, TextFormat: "markdown"}
	a.address(ref)
	return a
}

// cardMessage is a message carrying one Adaptive Card.
func cardMessage(ref schema.ConversationReference, summary string, card map[string]any) *outActivity {
	a := &outActivity{Type: "message", Summary: summary,
		Attachments: []schema.Attachment{{ContentType: cardContentType, Content: card}}}
	a.address(ref)
	return a
}

func (a *outActivity) address(ref schema.ConversationReference) {
	if ref.Bot.ID != "" {
		a.From = &schema.ChannelAccount{ID: ref.Bot.ID, Name: ref.Bot.Name}
	}
	if ref.User.ID != "" {
		a.Recipient = &schema.ChannelAccount{ID: ref.User.ID}
	}
	if ref.Conversation.ID != "" {
		a.Conversation = &schema.ConversationAccount{ID: ref.Conversation.ID}
	}
}

// Package fake is a fake Slack for tests, on loopback: the Web API methods
// tierzero uses (users.info, users.lookupByEmail, conversations.open,
// chat.postMessage, chat.postEphemeral, chat.update, oauth.v2.access,
// apps.connections.open) and a Socket Mode websocket server, speaking
// Slack's wire protocol so that slack-go drives it as it drives Slack. It
// checks tokens, keeps each user per workspace, records every message, and
// answers 429 with Retry-After when told to. (slacktest has no token
// checks, one fixed user, no conversations.open, no chat.update and no
// Socket Mode.)
package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// User is a Slack user.
type User struct {
	ID, TeamID, Email, Name string
	Deleted, Bot            bool
	// Restricted is a multi-channel guest, UltraRestricted a
	// single-channel guest.
	Restricted, UltraRestricted bool
}

// Message is a message posted through the Web API, or an update of one.
type Message struct {
	Method   string // chat.postMessage, chat.postEphemeral or chat.update
	Team     string // the workspace of the token that posted it
	Channel  string
	TS       string
	ThreadTS string
	User     string // chat.postEphemeral: the only one who sees it
	Text     string
	Blocks   string // JSON, as posted
}

// Install is what oauth.v2.access answers for a code.
type Install struct {
	Team, TeamName, Token string
}

// Server is the fake Slack. Its URL ends with /api/ (the Web API base).
type Server struct {
	URL string

	srv *httptest.Server

	mu         sync.Mutex
	bots       map[string]string // bot token -> team
	apps       map[string]bool   // app-level tokens
	users      map[string]User
	messages   []Message
	calls      map[string]int
	limits     map[string]int // method -> 429s still to answer
	retryAfter int
	clientID   string
	secret     string
	installs   map[string]Install // code -> install, used once
	seq        int

	// Socket Mode.
	sock     *websocket.Conn
	sockMu   sync.Mutex // serializes writes to sock
	opens    int
	conns    int
	acks     map[string]int
	ackc     *sync.Cond
	stopPing chan struct{}
}

// New starts a fake Slack on loopback; Close stops it.
func New() *Server {
	s := &Server{
		bots: map[string]string{}, apps: map[string]bool{}, users: map[string]User{},
		calls: map[string]int{}, limits: map[string]int{}, installs: map[string]Install{},
		acks: map[string]int{}, stopPing: make(chan struct{}),
	}
	s.ackc = sync.NewCond(&s.mu)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.api)
	mux.HandleFunc("/socket", s.socket)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/api/"
	return s
}

// Close stops the server and its socket.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.stopPing:
	default:
		close(s.stopPing)
	}
	if s.sock != nil {
		s.sock.Close()
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// AddBot makes token a bot token of workspace team.
func (s *Server) AddBot(token, team string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bots[token] = team
}

// AddAppToken makes token an app-level token (Socket Mode).
func (s *Server) AddAppToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[token] = true
}

// AddUser adds a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// SetClient sets the app's OAuth client id and secret.
func (s *Server) SetClient(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clientID, s.secret = id, secret
}

// AddInstall makes code exchangeable, once, for an install.
func (s *Server) AddInstall(code string, in Install) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installs[code] = in
}

// RateLimit answers the next n calls of method with 429 and Retry-After.
func (s *Server) RateLimit(method string, n, retryAfterSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = n
	s.retryAfter = retryAfterSeconds
}

// Messages returns the messages posted and updated so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Calls returns how many times method was called (429s included).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// IM is the direct message channel of the bot with a user.
func IM(user string) string { return "D" + strings.TrimPrefix(user, "U") }

type obj = map[string]any

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	token := r.Form.Get("token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	if s.limits[method] > 0 {
		s.limits[method]--
		w.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	reply := func(v obj) {
		v["ok"] = true
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	fail := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(obj{"ok": false, "error": code})
	}
	switch method {
	case "oauth.v2.access":
		if r.Form.Get("client_id") != s.clientID || r.Form.Get("client_secret") != s.secret || s.clientID == "" {
			fail("invalid_client_id")
			return
		}
		in, ok := s.installs[r.Form.Get("code")]
		if !ok {
			fail("invalid_code")
			return
		}
		delete(s.installs, r.Form.Get("code"))
		s.bots[in.Token] = in.Team
		reply(obj{"access_token": in.Token, "token_type": "bot", "scope": "chat:write,users:read",
			"bot_user_id": "UBOT" + in.Team, "app_id": "A0TIERZERO", "team": obj{"id": in.Team, "name": in.TeamName}})
		return
	case "apps.connections.open":
		if !s.apps[token] {
			fail("invalid_auth")
			return
		}
		s.opens++
		reply(obj{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket?n=" + strconv.Itoa(s.opens)})
		return
	}
	team, ok := s.bots[token]
	if !ok {
		if token == "" {
			fail("not_authed")
		} else {
			fail("invalid_auth")
		}
		return
	}
	switch method {
	case "users.info":
		u, ok := s.users[r.Form.Get("user")]
		if !ok {
			fail("user_not_found")
			return
		}
		reply(obj{"user": userJSON(u)})
	case "users.lookupByEmail":
		for _, u := range s.users {
			if u.TeamID == team && strings.EqualFold(u.Email, r.Form.Get("email")) && u.Email != "" {
				reply(obj{"user": userJSON(u)})
				return
			}
		}
		fail("users_not_found")
	case "conversations.open":
		u, ok := s.users[r.Form.Get("users")]
		if !ok || strings.Contains(r.Form.Get("users"), ",") {
			fail("user_not_found")
			return
		}
		reply(obj{"channel": obj{"id": IM(u.ID), "is_im": true, "user": u.ID}})
	case "chat.postMessage", "chat.postEphemeral":
		ch := r.Form.Get("channel")
		if ch == "" {
			fail("channel_not_found")
			return
		}
		if r.Form.Get("text") == "" && r.Form.Get("blocks") == "" {
			fail("no_text")
			return
		}
		s.seq++
		ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq)
		m := Message{Method: method, Team: team, Channel: ch, TS: ts, ThreadTS: r.Form.Get("thread_ts"),
			User: r.Form.Get("user"), Text: r.Form.Get("text"), Blocks: r.Form.Get("blocks")}
		s.messages = append(s.messages, m)
		if method == "chat.postEphemeral" {
			reply(obj{"message_ts": ts})
			return
		}
		reply(obj{"channel": ch, "ts": ts, "message": obj{"type": "message", "text": m.Text, "ts": ts, "thread_ts": m.ThreadTS}})
	case "chat.update":
		ch, ts := r.Form.Get("channel"), r.Form.Get("ts")
		found := false
		for _, m := range s.messages {
			if m.Method == "chat.postMessage" && m.Team == team && m.Channel == ch && m.TS == ts {
				found = true
			}
		}
		if !found {
			fail("message_not_found")
			return
		}
		s.messages = append(s.messages, Message{Method: method, Team: team, Channel: ch, TS: ts,
			Text: r.Form.Get("text"), Blocks: r.Form.Get("blocks")})
		reply(obj{"channel": ch, "ts": ts, "text": r.Form.Get("text")})
	default:
		fail("unknown_method")
	}
}

func userJSON(u User) obj {
	return obj{
		"id": u.ID, "team_id": u.TeamID, "name": strings.ToLower(strings.ReplaceAll(u.Name, " ", ".")), "real_name": u.Name,
		"deleted": u.Deleted, "is_bot": u.Bot, "is_restricted": u.Restricted, "is_ultra_restricted": u.UltraRestricted,
		"profile": obj{"email": u.Email, "real_name": u.Name, "display_name": u.Name},
	}
}

// socket is the Socket Mode websocket: it says hello, pings, and records
// the acks it reads.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.sock != nil {
		s.sock.Close()
	}
	s.sock = conn
	s.conns++
	n := s.conns
	s.mu.Unlock()
	s.write(conn, obj{"type": "hello", "num_connections": 1, "connection_info": obj{"app_id": "A0TIERZERO"},
		"debug_info": obj{"host": "fake-" + strconv.Itoa(n)}})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stopPing:
				return
			case <-t.C:
				if conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	}()
	for {
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := conn.ReadJSON(&ack); err != nil {
			return
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID]++
		s.ackc.Broadcast()
		s.mu.Unlock()
	}
}

func (s *Server) write(conn *websocket.Conn, v any) error {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return conn.WriteJSON(v)
}

// Connections returns how many Socket Mode connections were opened.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Send sends a Socket Mode envelope of type typ ("events_api",
// "interactive") on the open connection; retry is its retry_attempt.
func (s *Server) Send(envelopeID, typ string, payload json.RawMessage, retry int) error {
	s.mu.Lock()
	conn := s.sock
	s.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("no socket mode connection")
	}
	return s.write(conn, obj{"envelope_id": envelopeID, "type": typ, "payload": payload,
		"accepts_response_payload": false, "retry_attempt": retry, "retry_reason": map[bool]string{true: "timeout"}[retry > 0]})
}

// Disconnect asks the client to reconnect, as Slack does before it
// refreshes a connection.
func (s *Server) Disconnect() error {
	s.mu.Lock()
	conn := s.sock
	s.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("no socket mode connection")
	}
	return s.write(conn, obj{"type": "disconnect", "reason": "refresh_requested", "debug_info": obj{"host": "fake"}})
}

// Drop closes the connection without a word, as a network failure does.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sock != nil {
		s.sock.Close()
		s.sock = nil
	}
}

// WaitAck waits until envelopeID was acked, or timeout; it returns how
// many times it was.
func (s *Server) WaitAck(envelopeID string, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	go func() {
		time.Sleep(timeout)
		s.mu.Lock()
		s.ackc.Broadcast()
		s.mu.Unlock()
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.acks[envelopeID] == 0 && time.Now().Before(deadline) {
		s.ackc.Wait()
	}
	return s.acks[envelopeID]
}

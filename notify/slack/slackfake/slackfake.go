// Package slackfake is a local stand-in for the Slack Web API and incoming
// webhooks that records every request. Tests point slack-go at it with
// slack.OptionAPIURL(srv.URL+"/") and inject outages, slowness and
// rejections.
package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one recorded call.
type Request struct {
	// Method is the Web API method ("chat.postMessage") or "webhook".
	Method string
	Form   url.Values
	Body   []byte
	// Status is the HTTP status the fake answered with.
	Status int
}

// Message is a message as the fake channel holds it.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	// Broadcast is a thread reply also shown in the channel.
	Broadcast bool
	Text      string
	Blocks    string
	// Metadata is the message metadata posted with it, if any.
	Metadata *Metadata
	Updates  int
}

// Metadata is Slack message metadata.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// File is an uploaded file shared to a channel.
type File struct {
	ID, Name, Title, Channel, Comment string
	Content                           []byte
}

// Server is the fake. Its zero configuration accepts everything.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	requests []Request
	messages map[string]*Message // by channel + "/" + ts
	order    []string
	nextTS   int64
	// uploads are files uploaded but not yet completed, by ID.
	uploads map[string]*File
	files   []File

	// Channels, when non-empty, are the only channel IDs that exist; posting
	// elsewhere answers channel_not_found. A "#name" maps to the first one.
	channels []string
	down     int // HTTP status to answer with while non-zero
	delay    time.Duration
	reject   string // Slack error code for every chat call
	// now, when set, makes message timestamps follow a clock.
	now func() time.Time
	// loseResponses makes chat.postMessage keep the message but never answer.
	loseResponses bool
}

// New starts a fake Slack. Close it with Close.
func New() *Server {
	s := &Server{messages: map[string]*Message{}, uploads: map[string]*File{}, nextTS: 1700000000000100}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// APIURL is the base URL for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// WebhookURL is an incoming-webhook URL served by the fake.
func (s *Server) WebhookURL() string { return s.URL + "/services/T000/B000/XXXX" }

// SetChannels restricts the existing channels.
func (s *Server) SetChannels(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels = ids
}

// Down makes every request fail with HTTP status (0 restores service).
func (s *Server) Down(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = status
}

// Delay makes every request wait d before answering (0 restores).
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetClock makes message timestamps follow now (strictly increasing), so
// oldest/latest bounds of history calls match the caller's clock. Without a
// clock, timestamps count up from 1700000000.000101.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// LoseResponses makes chat.postMessage post the message and then hang
// until the client gives up, as when Slack accepted a message but the
// answer was lost (false restores).
func (s *Server) LoseResponses(lose bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseResponses = lose
}

// Reject answers chat calls with Slack error code (e.g. "invalid_blocks"); "" restores.
func (s *Server) Reject(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = code
}

// Requests returns a copy of the recorded requests.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Calls returns the recorded requests of one method that succeeded.
func (s *Server) Calls(method string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && r.Status == http.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// Files returns the files shared to channels, in completion order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]File(nil), s.files...)
}

// Messages returns the channel's messages in posting order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.messages[k])
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if strings.HasPrefix(r.URL.Path, "/services/") {
		method = "webhook"
	}
	uploadID, isUpload := strings.CutPrefix(r.URL.Path, "/upload/")
	if isUpload {
		method = "upload"
	}
	form, _ := url.ParseQuery(string(body))

	s.mu.Lock()
	delay, down := s.delay, s.down
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	record := func(status int) {
		s.requests = append(s.requests, Request{Method: method, Form: form, Body: body, Status: status})
	}
	if r.Context().Err() != nil {
		record(0)
		return
	}
	if down != 0 {
		record(down)
		if down == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, "service unavailable", down)
		return
	}
	if method == "webhook" {
		if s.reject != "" {
			record(http.StatusBadRequest)
			http.Error(w, s.reject, http.StatusBadRequest)
			return
		}
		record(http.StatusOK)
		var msg struct {
			Text   string          `json:"text"`
			Blocks json.RawMessage `json:"blocks"`
		}
		_ = json.Unmarshal(body, &msg)
		s.store("webhook", "", msg.Text, string(msg.Blocks))
		_, _ = io.WriteString(w, "ok")
		return
	}
	if isUpload {
		s.upload(w, r, uploadID, body, record)
		return
	}
	reply := func(v map[string]any) {
		record(http.StatusOK)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(code string) { reply(map[string]any{"ok": false, "error": code}) }
	if form.Get("token") == "" && r.Header.Get("Authorization") == "" {
		fail("not_authed")
		return
	}
	switch method {
	case "views.open":
		// Slack's checks that matter to a form: a trigger to answer, a modal
		// with a callback, a title of at most 24 characters, labelled inputs.
		var req struct {
			TriggerID string `json:"trigger_id"`
			View      struct {
				Type       string `json:"type"`
				CallbackID string `json:"callback_id"`
				Title      struct {
					Text string `json:"text"`
				} `json:"title"`
				Blocks []struct {
					Type  string          `json:"type"`
					Label json.RawMessage `json:"label"`
				} `json:"blocks"`
			} `json:"view"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.TriggerID == "" {
			fail("invalid_trigger_id")
			return
		}
		v := req.View
		if v.Type != "modal" || v.CallbackID == "" || v.Title.Text == "" || len([]rune(v.Title.Text)) > 24 || len(v.Blocks) == 0 || len(v.Blocks) > 100 {
			fail("invalid_arguments")
			return
		}
		for _, b := range v.Blocks {
			if b.Type == "input" && len(b.Label) == 0 {
				fail("invalid_arguments")
				return
			}
		}
		reply(map[string]any{"ok": true, "view": map[string]any{"id": "V0000001", "type": "modal", "callback_id": v.CallbackID}})
	case "auth.test":
		reply(map[string]any{"ok": true, "user_id": "UBOT0001", "team_id": "T0000001"})
	case "conversations.info":
		ch, ok := s.channel(form.Get("channel"))
		if !ok {
			fail("channel_not_found")
			return
		}
		reply(map[string]any{"ok": true, "channel": map[string]any{"id": ch, "name": "alerts"}})
	case "chat.postMessage":
		ch, ok := s.channel(form.Get("channel"))
		switch {
		case !ok:
			fail("channel_not_found")
		case s.reject != "":
			reply(map[string]any{"ok": false, "error": s.reject, "response_metadata": map[string]any{
				"messages": []string{"[ERROR] rejected by test server"}}})
		default:
			var md *Metadata
			if raw := form.Get("metadata"); raw != "" {
				md = &Metadata{}
				if err := json.Unmarshal([]byte(raw), md); err != nil || md.EventType == "" {
					fail("invalid_metadata_format")
					return
				}
			}
			ts := s.store(ch, form.Get("thread_ts"), form.Get("text"), form.Get("blocks"))
			m := s.messages[ch+"/"+ts]
			m.Metadata, m.Broadcast = md, form.Get("reply_broadcast") == "true"
			if s.loseResponses {
				record(0)
				s.mu.Unlock()
				<-r.Context().Done()
				s.mu.Lock()
				return
			}
			reply(map[string]any{"ok": true, "channel": ch, "ts": ts})
		}
	case "conversations.history":
		ch, ok := s.channel(form.Get("channel"))
		if !ok || strings.HasPrefix(form.Get("channel"), "#") {
			fail("channel_not_found")
			return
		}
		var msgs []*Message
		for i := len(s.order) - 1; i >= 0; i-- { // newest first
			m := s.messages[s.order[i]]
			if m.Channel == ch && (m.ThreadTS == "" || m.Broadcast) {
				msgs = append(msgs, m)
			}
		}
		s.page(form, msgs, reply)
	case "conversations.replies":
		ch, _ := s.channel(form.Get("channel"))
		parent, ok := s.messages[ch+"/"+form.Get("ts")]
		if !ok {
			fail("thread_not_found")
			return
		}
		msgs := []*Message{parent} // the parent first, then replies oldest first
		for _, k := range s.order {
			if m := s.messages[k]; m.Channel == ch && m.ThreadTS == parent.TS {
				msgs = append(msgs, m)
			}
		}
		s.page(form, msgs, reply)
	case "chat.update":
		m, ok := s.messages[form.Get("channel")+"/"+form.Get("ts")]
		switch {
		case !ok:
			fail("message_not_found")
		case s.reject != "":
			fail(s.reject)
		default:
			m.Text, m.Blocks = form.Get("text"), form.Get("blocks")
			m.Updates++
			reply(map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
		}
	case "files.getUploadURLExternal":
		if form.Get("filename") == "" || form.Get("length") == "" || form.Get("length") == "0" {
			fail("invalid_arguments")
			return
		}
		id := fmt.Sprintf("F%010d", len(s.uploads)+len(s.files)+1)
		s.uploads[id] = &File{ID: id, Name: form.Get("filename")}
		reply(map[string]any{"ok": true, "upload_url": s.URL + "/upload/" + id, "file_id": id})
	case "files.completeUploadExternal":
		var fs []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		}
		if err := json.Unmarshal([]byte(form.Get("files")), &fs); err != nil || len(fs) == 0 {
			fail("invalid_arguments")
			return
		}
		ch, ok := s.channel(form.Get("channel_id"))
		if !ok {
			fail("channel_not_found")
			return
		}
		var out []map[string]any
		for _, f := range fs {
			up, ok := s.uploads[f.ID]
			if !ok || up.Content == nil {
				fail("file_not_found")
				return
			}
			delete(s.uploads, f.ID)
			up.Title, up.Channel, up.Comment = f.Title, ch, form.Get("initial_comment")
			s.files = append(s.files, *up)
			out = append(out, map[string]any{"id": f.ID, "title": f.Title})
		}
		reply(map[string]any{"ok": true, "files": out})
	default:
		fail("unknown_method")
	}
}

// page answers a history or replies call: messages after oldest (and up
// to latest), limit at a time, with a cursor; callers hold s.mu.
func (s *Server) page(form url.Values, msgs []*Message, reply func(map[string]any)) {
	oldest, latest := tsValue(form.Get("oldest")), tsValue(form.Get("latest"))
	inclusive := form.Get("inclusive") == "1" || form.Get("inclusive") == "true"
	var in []*Message
	for _, m := range msgs {
		v := tsValue(m.TS)
		if form.Get("oldest") != "" && (v < oldest || v == oldest && !inclusive) {
			continue
		}
		if form.Get("latest") != "" && (v > latest || v == latest && !inclusive) {
			continue
		}
		in = append(in, m)
	}
	start, _ := strconv.Atoi(form.Get("cursor"))
	limit, _ := strconv.Atoi(form.Get("limit"))
	if limit <= 0 {
		limit = 100
	}
	start = min(start, len(in))
	end := min(start+limit, len(in))
	withMeta := form.Get("include_all_metadata") == "1" || form.Get("include_all_metadata") == "true"
	out := make([]map[string]any, 0, end-start)
	for _, m := range in[start:end] {
		o := map[string]any{"type": "message", "user": "UBOT0001", "ts": m.TS, "text": m.Text}
		if m.ThreadTS != "" {
			o["thread_ts"] = m.ThreadTS
		}
		if withMeta && m.Metadata != nil {
			o["metadata"] = m.Metadata
		}
		out = append(out, o)
	}
	next := ""
	if end < len(in) {
		next = strconv.Itoa(end)
	}
	reply(map[string]any{"ok": true, "messages": out, "has_more": next != "", "response_metadata": map[string]any{"next_cursor": next}})
}

// tsValue reads a Slack timestamp as microseconds.
func tsValue(ts string) int64 {
	sec, frac, _ := strings.Cut(ts, ".")
	a, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000")[:6]
	b, _ := strconv.ParseInt(frac, 10, 64)
	return a*1000000 + b
}

// upload receives the bytes of a file at its upload URL; callers hold s.mu.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, id string, body []byte, record func(int)) {
	up, ok := s.uploads[id]
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !ok || err != nil || params["boundary"] == "" {
		record(http.StatusNotFound)
		http.Error(w, "unknown upload", http.StatusNotFound)
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		if part.FormName() == "file" {
			up.Content, _ = io.ReadAll(part)
		}
	}
	if up.Content == nil {
		record(http.StatusBadRequest)
		http.Error(w, "no file part", http.StatusBadRequest)
		return
	}
	record(http.StatusOK)
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(up.Content)))
}

// channel resolves a channel argument; callers hold s.mu.
func (s *Server) channel(arg string) (string, bool) {
	if len(s.channels) == 0 {
		if strings.HasPrefix(arg, "#") {
			return "C0ALERTS1", true
		}
		return arg, arg != ""
	}
	if strings.HasPrefix(arg, "#") {
		return s.channels[0], true
	}
	for _, c := range s.channels {
		if c == arg {
			return c, true
		}
	}
	return "", false
}

// store records a message and returns its ts; callers hold s.mu.
func (s *Server) store(ch, threadTS, text, blocks string) string {
	s.nextTS++
	if s.now != nil {
		s.nextTS = max(s.nextTS, s.now().UnixMicro())
	}
	ts := fmt.Sprintf("%d.%06d", s.nextTS/1000000, s.nextTS%1000000)
	s.messages[ch+"/"+ts] = &Message{Channel: ch, TS: ts, ThreadTS: threadTS, Text: text, Blocks: blocks}
	s.order = append(s.order, ch+"/"+ts)
	return ts
}

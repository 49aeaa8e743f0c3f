// Package browsertest drives headless Chromium over the DevTools protocol
// for tests of the HTML sharedrift produces: it loads a page, records
// console errors, exceptions and network requests, evaluates expressions
// and captures screenshots and PDFs. It speaks the protocol directly over a
// WebSocket, so tests need only a Chromium binary.
package browsertest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ContrastCheck is a JavaScript function of a problems array: it adds
// one entry for every pair of text and background colours on the page
// whose contrast is below 4.5:1 (3:1 for large text), WCAG's AA level.
// Text inside SVG and text that is hidden or moved off screen is skipped.
const ContrastCheck = `(problems => {
  const lum = c => {
    const m = c.match(/[\d.]+/g).map(Number);
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(m[0]) + 0.7152 * f(m[1]) + 0.0722 * f(m[2]);
  };
  const bg = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const seen = new Set();
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || !el.childNodes.length) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || el.getBoundingClientRect().right < 0) continue;
    const a = lum(s.color), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && +s.fontWeight >= 700);
    const key = s.color + '/' + bg(el);
    if (ratio < (large ? 3 : 4.5) && !seen.has(key)) {
      seen.add(key);
      problems.push('contrast ' + ratio.toFixed(2) + ' for ' + key + ' on ' + el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '"');
    }
  }
})`

// ErrNoChromium is returned when no Chromium binary can be found.
var ErrNoChromium = errors.New("no chromium binary: set SHAREDRIFT_TEST_CHROMIUM or install Debian's chromium package")

// EnvChromium names the environment variable holding the Chromium binary.
const EnvChromium = "SHAREDRIFT_TEST_CHROMIUM"

// FindChromium returns $SHAREDRIFT_TEST_CHROMIUM, else /usr/bin/chromium if
// it exists, else ErrNoChromium.
func FindChromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvChromium, p, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return "", ErrNoChromium
}

// Browser is one headless Chromium process with one page attached.
type Browser struct {
	cmd     *exec.Cmd
	conn    *websocket.Conn
	session string

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan message
	waiters map[string][]chan json.RawMessage

	// Console holds console messages and uncaught exceptions of level error.
	Console []string
	// Requests holds the URL of every network request the page made.
	Requests []string

	done chan struct{}
	err  error
}

type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *protoError     `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type protoError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Flags are the Chromium flags every test run uses: headless, no sandbox
// (containers run as root), and nothing that talks to the network by itself.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
	"--remote-debugging-port=0",
}

// Start launches Chromium with a fresh profile in userDataDir and attaches
// to a blank page with the Runtime, Log, Network and Page domains enabled.
func Start(ctx context.Context, bin, userDataDir string) (*Browser, error) {
	args := append(append([]string{}, Flags...), "--user-data-dir="+userDataDir, "about:blank")
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("chromium stderr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	b := &Browser{cmd: cmd, pending: map[int64]chan message{}, waiters: map[string][]chan json.RawMessage{}, done: make(chan struct{})}
	wsURL, err := devtoolsURL(ctx, stderr)
	if err != nil {
		b.kill()
		_ = cmd.Wait()
		return nil, err
	}
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, _, err := dialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		b.kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("connect to chromium devtools: %w", err)
	}
	conn.SetReadLimit(256 << 20) // screenshots and PDFs arrive as one message
	b.conn = conn
	go b.readLoop()

	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		b.Close()
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		b.Close()
		return nil, err
	}
	b.session = att.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Network.enable", "Page.enable"} {
		if err := b.Call(ctx, m, nil, nil); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// devtoolsURL reads Chromium's stderr until it announces its DevTools
// endpoint, then keeps draining it so the process never blocks on a full pipe.
func devtoolsURL(ctx context.Context, r io.Reader) (string, error) {
	found := make(chan string, 1)
	var lines []string
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(r)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent {
				mu.Lock()
				lines = append(lines, line)
				mu.Unlock()
			}
			if i := strings.Index(line, "ws://"); !sent && strings.Contains(line, "DevTools listening on") && i >= 0 {
				found <- strings.TrimSpace(line[i:])
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case u, ok := <-found:
		if ok {
			return u, nil
		}
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	return "", fmt.Errorf("chromium did not announce its devtools endpoint; stderr:\n%s", strings.Join(lines, "\n"))
}

func (b *Browser) readLoop() {
	defer close(b.done)
	for {
		var m message
		if err := b.conn.ReadJSON(&m); err != nil {
			b.mu.Lock()
			b.err = err
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.pending[m.ID]; ok {
				ch <- m
				delete(b.pending, m.ID)
			}
			b.mu.Unlock()
			continue
		}
		b.record(m)
		for _, ch := range b.waiters[m.Method] {
			ch <- m.Params
		}
		delete(b.waiters, m.Method)
		b.mu.Unlock()
	}
}

// record keeps what the assertions look at; b.mu is held.
func (b *Browser) record(m message) {
	if m.SessionID != b.session {
		return
	}
	switch m.Method {
	case "Network.requestWillBeSent":
		var p struct {
			Request struct {
				URL string `json:"url"`
			} `json:"request"`
		}
		if json.Unmarshal(m.Params, &p) == nil {
			b.Requests = append(b.Requests, p.Request.URL)
		}
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		if json.Unmarshal(m.Params, &p) == nil && (p.Type == "error" || p.Type == "assert") {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value)+a.Description)
			}
			b.Console = append(b.Console, "console."+p.Type+": "+strings.Join(parts, " "))
		}
	case "Runtime.exceptionThrown":
		b.Console = append(b.Console, "exception: "+string(m.Params))
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level, Text, URL string
			} `json:"entry"`
		}
		if json.Unmarshal(m.Params, &p) == nil && p.Entry.Level == "error" {
			b.Console = append(b.Console, "log: "+p.Entry.Text+" "+p.Entry.URL)
		}
	}
}

// Call sends a command to the attached page and decodes its result into out
// (which may be nil).
func (b *Browser) Call(ctx context.Context, method string, params, out any) error {
	return b.call(ctx, b.session, method, params, out)
}

func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if params == nil {
		raw = []byte("{}")
	}
	ch := make(chan message, 1)
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return fmt.Errorf("%s: connection closed: %w", method, b.err)
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	b.writeMu.Lock()
	err = b.conn.WriteJSON(message{ID: id, Method: method, Params: raw, SessionID: session})
	b.writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: connection closed", method)
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				return fmt.Errorf("%s: decode result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// waitFor returns a channel that receives the params of the next event
// named method.
func (b *Browser) waitFor(method string) chan json.RawMessage {
	ch := make(chan json.RawMessage, 1)
	b.mu.Lock()
	b.waiters[method] = append(b.waiters[method], ch)
	b.mu.Unlock()
	return ch
}

// Navigate loads url and waits for the load event.
func (b *Browser) Navigate(ctx context.Context, url string) error {
	loaded := b.waitFor("Page.loadEventFired")
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := b.Call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate %s: %s", url, res.ErrorText)
	}
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("navigate %s: waiting for load: %w", url, ctx.Err())
	}
}

// Act evaluates a JavaScript expression that makes the page navigate (a
// click on a link, a form's submit) and waits for the next load event.
func (b *Browser) Act(ctx context.Context, expr string) error {
	loaded := b.waitFor("Page.loadEventFired")
	var ignored any
	if err := b.Eval(ctx, "("+expr+", true)", &ignored); err != nil {
		return err
	}
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("act %q: waiting for load: %w", expr, ctx.Err())
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its value.
func (b *Browser) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := b.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res); err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("evaluate %q: %s", expr, res.ExceptionDetails.Text)
	}
	return json.Unmarshal(res.Result.Value, out)
}

// Screenshot captures the page as PNG at the given CSS width; fullPage
// captures the whole document rather than the first screen of height.
func (b *Browser) Screenshot(ctx context.Context, width, height int, fullPage bool) ([]byte, error) {
	if err := b.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
	}, nil); err != nil {
		return nil, err
	}
	params := map[string]any{"format": "png"}
	if fullPage {
		var m struct {
			CSSContentSize struct {
				Width, Height float64
			} `json:"cssContentSize"`
		}
		if err := b.Call(ctx, "Page.getLayoutMetrics", nil, &m); err != nil {
			return nil, err
		}
		params["captureBeyondViewport"] = true
		params["clip"] = map[string]any{"x": 0, "y": 0, "width": float64(width), "height": m.CSSContentSize.Height, "scale": 1}
	}
	var res struct {
		Data string `json:"data"`
	}
	if err := b.Call(ctx, "Page.captureScreenshot", params, &res); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(res.Data)
}

// PDF prints the page with its print stylesheet.
func (b *Browser) PDF(ctx context.Context) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	if err := b.Call(ctx, "Page.printToPDF", map[string]any{"printBackground": true, "preferCSSPageSize": true}, &res); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(res.Data)
}

// Snapshot returns copies of the recorded console errors and requests.
func (b *Browser) Snapshot() (console, requests []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.Console...), append([]string(nil), b.Requests...)
}

// Close asks Chromium to exit and waits for it, killing it after a grace period.
func (b *Browser) Close() error {
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = b.call(ctx, "", "Browser.close", nil, nil)
		cancel()
		b.conn.Close()
		<-b.done
	}
	exited := make(chan struct{})
	go func() {
		_ = b.cmd.Wait() // a killed or crashed browser is not the test's concern here
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		b.kill()
		<-exited
	}
	return nil
}

func (b *Browser) kill() {
	if b.cmd.Process != nil {
		_ = b.cmd.Process.Kill()
	}
}

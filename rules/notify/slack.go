package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/prophasis/prophasis/store"
)

// SlackConfig configures a Slack-compatible incoming webhook (Slack,
// Mattermost, Rocket.Chat).
type SlackConfig struct {
	// URL is the incoming webhook's address. Whoever knows it can post
	// to the channel, so it is a secret.
	URL Secret `json:"url" yaml:"url"`
	// Channel overrides the webhook's channel ("#ops"), where the service
	// allows it.
	Channel string `json:"channel,omitempty" yaml:"channel,omitempty"`
	// Username overrides the poster's name.
	Username string `json:"username,omitempty" yaml:"username,omitempty"`
	// Timeout bounds one request; 0 means 10 s, at most 2 m.
	Timeout store.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// maxSlackName bounds Channel and Username.
const maxSlackName = 80

// Validate checks the settings; errors never quote the URL.
func (c SlackConfig) Validate() error {
	if err := checkSecret("url", c.URL); err != nil {
		return err
	}
	if _, err := checkHTTPURL("url", string(c.URL)); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"channel", c.Channel}, {"username", c.Username}} {
		if len(f.v) > maxSlackName || !utf8.ValidString(f.v) || !validHeaderValue(f.v) {
			return fmt.Errorf("%s must be at most %d characters of text", f.name, maxSlackName)
		}
	}
	_, err := timeoutOr("timeout", c.Timeout, defaultHTTPTimeout, maxHTTPTimeout)
	return err
}

// Slack is the Slack-compatible notifier.
type Slack struct {
	cfg    SlackConfig
	target string
	client *http.Client
}

// NewSlack validates c and returns its notifier.
func NewSlack(c SlackConfig) (*Slack, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	p, _ := checkHTTPURL("url", string(c.URL))
	timeout, _ := timeoutOr("timeout", c.Timeout, defaultHTTPTimeout, maxHTTPTimeout)
	// Only the host: the path of an incoming webhook is its credential.
	return &Slack{cfg: c, target: p.Scheme + "://" + p.Host + "/<secret>", client: newHTTPClient(timeout)}, nil
}

// slackMessage is the incoming-webhook body the three services share.
type slackMessage struct {
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Fallback  string       `json:"fallback"`
	Color     string       `json:"color"`
	Title     string       `json:"title"`
	TitleLink string       `json:"title_link,omitempty"`
	Text      string       `json:"text"`
	Fields    []slackField `json:"fields"`
	Footer    string       `json:"footer,omitempty"`
	TS        int64        `json:"ts,omitempty"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// stateColors are the attachment colours, green to red.
var stateColors = map[string]string{
	"ok":       "#2eb886",
	"minor":    "#daa038",
	"degraded": "#daa038",
	"major":    "#e8912d",
	"critical": "#a30200",
	"failed":   "#a30200",
	"unknown":  "#808080",
}

// Payload implements Payloader: the message, which holds no secret.
func (s *Slack) Payload(a Alert) ([]byte, error) { return json.Marshal(s.message(a)) }

func (s *Slack) message(a Alert) slackMessage {
	color := stateColors[a.State]
	if a.Status == StatusResolved {
		color = stateColors["ok"]
	}
	if color == "" {
		color = stateColors["unknown"]
	}
	fields := []slackField{
		{Title: "State", Value: a.From + " → " + a.State, Short: true},
		{Title: "Since", Value: a.Since.UTC().Format("2006-01-02 15:04:05 MST"), Short: true},
		{Title: "Rule", Value: a.Rule, Short: true},
	}
	if a.Subject.Host != "" {
		fields = append(fields, slackField{Title: "Host", Value: a.Subject.Host, Short: true})
	}
	if a.Subject.Check != "" || a.Subject.Plugin != "" {
		fields = append(fields, slackField{Title: "Check", Value: a.Subject.Check + "/" + a.Subject.Plugin, Short: true})
	}
	if a.Subject.Service != "" {
		fields = append(fields, slackField{Title: "Service", Value: a.Subject.Service, Short: true})
	}
	if a.Repeat > 0 {
		fields = append(fields, slackField{Title: "Repeat", Value: fmt.Sprint(a.Repeat), Short: true})
	}
	if a.Ack != nil {
		fields = append(fields, slackField{Title: "Acknowledged", Value: a.Ack.By + ": " + a.Ack.Comment})
	}
	title := a.Title()
	return slackMessage{
		Channel:  s.cfg.Channel,
		Username: s.cfg.Username,
		Text:     title,
		Attachments: []slackAttachment{{
			Fallback: title, Color: color, Title: a.SubjectName(), TitleLink: a.URL,
			Text: a.Reason, Fields: fields, Footer: "Prophasis", TS: a.Time.Unix(),
		}},
	}
}

// Notify implements Notifier.
func (s *Slack) Notify(ctx context.Context, a Alert) (bool, error) {
	body, err := json.Marshal(s.message(a))
	if err != nil {
		return false, fmt.Errorf("slack: encode message: %w", err)
	}
	retry, err := postJSON(ctx, s.client, string(s.cfg.URL), nil, body, s.target)
	if err != nil {
		return retry, fmt.Errorf("slack: %w", err)
	}
	return false, nil
}

package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/prophasis/prophasis/rules/alert"
	"github.com/prophasis/prophasis/rules/notify"
	"github.com/prophasis/prophasis/store"
)

var (
	historyDropped = metrics.NewCounter(`prophasis_alert_history_write_failures_total`)
	graphsSkipped  = metrics.NewCounter(`prophasis_alert_graphs_skipped_total`)
)

// AlertingOptions tune Alerting.
type AlertingOptions struct {
	// URL is the web UI's base URL, for links in notifications ("" none).
	URL string
	// GraphWindow is how much history an email's graph shows (default 6 h).
	GraphWindow time.Duration
	// Dispatcher tunes retries and queues of the alert modules.
	Dispatcher notify.DispatcherOptions
}

// Alerting connects the engine's state changes to the alert manager and the
// manager's notices to the alert modules: it loads the alert rules,
// silences, host labels and modules from the store (again on every change),
// keeps acknowledgements across restarts, builds each notification (with a
// graph of the subject's recent values for email) and keeps the alert
// history — every alert's lifecycle and every notification attempt.
type Alerting struct {
	st     store.Store
	db     storage.Queryable
	eng    *Engine
	logger *slog.Logger
	opts   AlertingOptions
	mgr    *alert.Manager
	disp   *notify.Dispatcher

	// failLogs hold back repeated notification failures in the system
	// log, by module.
	failMu   sync.Mutex
	failLogs map[string]*limitedLog

	mu        sync.RWMutex
	notifiers map[string]notify.Notifier // by module name

	reloadMu sync.Mutex
	changed  atomic.Pointer[<-chan struct{}] // ConfigChanged as of the last load
	refresh  chan struct{}                   // asks Run to refresh the services' flags

	prepare chan prepared      // notices waiting for their graph
	history chan historyItem   // records for the store, in order
	acksOff chan store.Subject // recovered subjects whose acks go
}

type prepared struct {
	module string
	n      notify.Notifier
	a      notify.Alert
	kind   string // subject kind, for the graph
}

type historyItem struct {
	alert   *store.AlertRecord
	attempt *store.NotificationRecord
}

// NewAlerting returns an Alerting for the engine's events; Run starts it.
func NewAlerting(st store.Store, db storage.Queryable, eng *Engine, logger *slog.Logger, opts AlertingOptions) *Alerting {
	if opts.GraphWindow <= 0 {
		opts.GraphWindow = 6 * time.Hour
	}
	a := &Alerting{st: st, db: db, eng: eng, logger: logger.With("component", "alerting"), opts: opts,
		notifiers: map[string]notify.Notifier{}, failLogs: map[string]*limitedLog{},
		refresh: make(chan struct{}, 1),
		prepare: make(chan prepared, 4096), history: make(chan historyItem, 16384), acksOff: make(chan store.Subject, 1024)}
	a.mgr = alert.New(a, a, logger, alert.Options{})
	a.disp = notify.NewDispatcher(logger, opts.Dispatcher)
	// Subscribed now, so no event published before Run is missed: the
	// manager's queue holds them until it runs.
	eng.Subscribe(a.events)
	// Services may ignore members in maintenance or acknowledged.
	eng.SetFlagSource(a.mgr.Flags)
	return a
}

// Run loads the configuration and acknowledgements, then alerts until ctx
// ends, reloading on every configuration change.
func (a *Alerting) Run(ctx context.Context) error {
	mgrCtx, mgrCancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.mgr.Run(mgrCtx) })
	wg.Go(func() { a.preparer(mgrCtx) })
	histDone := make(chan struct{})
	go func() { a.historian(); close(histDone) }()
	defer func() {
		mgrCancel()
		wg.Wait()
		a.disp.Close()
		close(a.history)
		<-histDone
	}()
	if err := a.reload(ctx); err != nil {
		return err
	}
	a.eng.RefreshServices(ctx)
	acks, err := a.st.Acks(ctx)
	if err != nil {
		return fmt.Errorf("load acknowledgements: %w", err)
	}
	now := time.Now()
	a.deleteExpiredAcks(ctx, acks, now) // expired while the server was down
	for _, k := range acks {
		if k.Expires != 0 && k.Expires <= now.UnixMilli() {
			continue
		}
		if err := a.mgr.Acknowledge(ctx, k.SubjectKey, toAlertAck(k)); err != nil {
			return err
		}
	}
	sweep := time.NewTicker(10 * time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sweep.C:
			if acks, err := a.st.Acks(ctx); err != nil {
				a.logger.Warn("list acknowledgements", "err", err)
			} else {
				a.deleteExpiredAcks(ctx, acks, time.Now())
			}
		case <-*a.changed.Load():
			before := a.changed.Load()
			a.fresh(ctx)
			if a.changed.Load() == before {
				// The reload failed (and was logged): try again in a while
				// rather than spin.
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		case <-a.refresh:
			a.eng.RefreshServices(ctx) // a new silence may put members in maintenance
		case subj := <-a.acksOff:
			if err := a.st.DeleteAck(ctx, alert.SubjectKey(subj)); err != nil && !errors.Is(err, store.ErrNotFound) {
				a.logger.Warn("delete acknowledgement of a recovered subject", "subject", alert.SubjectKey(subj), "err", err)
			}
		}
	}
}

// deleteExpiredAcks removes the acknowledgements of acks that expired by
// now from the store. The manager forgets them itself when they expire, and
// the API's list leaves them out; this keeps the store from collecting them.
func (a *Alerting) deleteExpiredAcks(ctx context.Context, acks []store.Ack, now time.Time) {
	for _, k := range acks {
		if k.Expires != 0 && k.Expires <= now.UnixMilli() {
			if err := a.st.DeleteAck(ctx, k.SubjectKey); err != nil && !errors.Is(err, store.ErrNotFound) {
				a.logger.Warn("delete expired acknowledgement", "subject", k.SubjectKey, "err", err)
			}
		}
	}
}

// fresh reloads the configuration if it changed since it was loaded; the
// services' flags are refreshed by Run afterwards. events calls it first,
// so a change (a new silence, say) applies to the next state change, not a
// moment later.
func (a *Alerting) fresh(ctx context.Context) {
	ch := a.changed.Load()
	if ch == nil {
		return // Run has not loaded the first configuration yet
	}
	select {
	case <-*ch:
	default:
		return
	}
	if err := a.reload(ctx); err != nil {
		if ctx.Err() == nil {
			a.logger.Warn("reload alerting configuration", "err", err)
		}
		return
	}
	select {
	case a.refresh <- struct{}{}:
	default: // one is already asked for
	}
}

// events receives the engine's events (Subscribe): to the manager, and
// recoveries end the subject's stored acknowledgement.
func (a *Alerting) events(evs []store.Event) {
	a.fresh(context.Background())
	a.mgr.Events(evs)
	for _, ev := range evs {
		if ev.Kind == "state" && ev.To == 0 {
			select {
			case a.acksOff <- ev.Subject:
			default: // the manager forgets it; the store keeps it until it expires or the next restart drops it
			}
		}
	}
}

// reload builds the manager's rules and silences and the modules.
func (a *Alerting) reload(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	// Taken before reading: a change committed meanwhile reloads again.
	changed := a.st.ConfigChanged()
	if ch := a.changed.Load(); ch != nil {
		select {
		case <-*ch:
		default:
			// Another caller reloaded since this one saw the change.
			return nil
		}
	}
	defs, err := a.st.AlertRules(ctx)
	if err != nil {
		return fmt.Errorf("load alert rules: %w", err)
	}
	hosts, err := a.st.Hosts(ctx)
	if err != nil {
		return fmt.Errorf("load hosts: %w", err)
	}
	silences, err := a.st.Silences(ctx)
	if err != nil {
		return fmt.Errorf("load silences: %w", err)
	}
	mods, err := a.st.AlertModules(ctx)
	if err != nil {
		return fmt.Errorf("load alert modules: %w", err)
	}
	groups := map[string][]string{}
	expand := func(sc store.Scope) (alert.Scope, error) {
		out := alert.Scope{Hosts: slices.Clone(sc.Hosts), Checks: sc.Checks, Plugins: sc.Plugins,
			Services: sc.Services, TrendRules: sc.TrendRules}
		for _, g := range sc.Groups {
			hs, ok := groups[g]
			if !ok {
				if hs, err = a.st.GroupHosts(ctx, g); err != nil {
					return out, err
				}
				groups[g] = hs
			}
			out.Hosts = append(out.Hosts, hs...)
		}
		return out, nil
	}
	cfg := alert.Config{HostLabels: map[string]map[string]string{}}
	for _, h := range hosts {
		cfg.HostLabels[h.Name] = h.Labels
	}
	for _, d := range defs {
		if d.Disabled {
			continue
		}
		scope, err := expand(d.Scope)
		if err != nil {
			return fmt.Errorf("alert rule %q: %w", d.Name, err)
		}
		r := alert.Rule{Name: d.Name, From: d.From, To: d.To, Scope: scope, Condition: d.Condition,
			Modules: d.Modules, Delay: d.Delay.Std(), Repeat: d.Repeat.Std(), Recovery: !d.NoRecovery}
		for _, e := range d.Escalations {
			r.Escalations = append(r.Escalations, alert.Escalation{After: e.After.Std(), Modules: e.Modules})
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	for _, s := range silences {
		scope, err := expand(s.Scope)
		if err != nil {
			return fmt.Errorf("silence %q: %w", s.Name, err)
		}
		as, err := toAlertSilence(s, scope)
		if err != nil {
			a.logger.Warn("silence ignored", "silence", s.Name, "err", err)
			continue
		}
		cfg.Silences = append(cfg.Silences, as)
	}
	notifiers := map[string]notify.Notifier{}
	for _, m := range mods {
		n, err := notify.New(m)
		if err != nil {
			// The store refuses these; one saved by an older version is
			// reported and left out.
			a.eng.rec.log(store.LogEntry{Time: time.Now().UnixMilli(), Level: "error", Component: "notify",
				Message: fmt.Sprintf("alert module %q is not usable: %v", m.Name, err)})
			continue
		}
		notifiers[m.Name] = n
	}
	a.mu.Lock()
	a.notifiers = notifiers
	a.mu.Unlock()
	if err := a.mgr.SetConfig(ctx, cfg); err != nil {
		return err
	}
	a.changed.Store(&changed)
	return nil
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func toAlertSilence(s store.Silence, scope alert.Scope) (alert.Silence, error) {
	out := alert.Silence{Name: s.Name, Scope: scope, Comment: s.Comment, By: s.CreatedBy, Start: s.Start, End: s.End}
	if w := s.Weekly; w != nil {
		loc, err := time.LoadLocation(cmpOr(w.Timezone, "UTC"))
		if err != nil {
			return out, err
		}
		hh, mm, ok := strings.Cut(w.At, ":")
		h, err1 := strconv.Atoi(hh)
		m, err2 := strconv.Atoi(mm)
		if !ok || err1 != nil || err2 != nil {
			return out, fmt.Errorf("weekly at %q is not HH:MM", w.At)
		}
		ww := &alert.Weekly{At: time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, Duration: w.Duration.Std(), Location: loc}
		for _, d := range w.Days {
			wd, ok := weekdays[strings.ToLower(d)]
			if !ok {
				return out, fmt.Errorf("weekly day %q", d)
			}
			ww.Days = append(ww.Days, wd)
		}
		out.Weekly = ww
	}
	return out, out.Validate()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func toAlertAck(k store.Ack) alert.Ack {
	out := alert.Ack{By: k.By, Comment: k.Comment, At: time.UnixMilli(k.At)}
	if k.Expires != 0 {
		out.Expires = time.UnixMilli(k.Expires)
	}
	return out
}

// Send implements alert.Sender: the notice becomes a notify.Alert, which
// waits for its graph (email only) and goes to the module's queue.
func (a *Alerting) Send(module string, n alert.Notice) {
	a.mu.RLock()
	nt, ok := a.notifiers[module]
	a.mu.RUnlock()
	al := toNotifyAlert(n, a.opts.URL)
	if !ok {
		a.attempt(notify.Attempt{Module: module, AlertID: n.ID, Time: time.Now(), Final: true,
			Err: fmt.Sprintf("alert module %q does not exist or is not usable", module)}, al.Status, n.Rule)
		return
	}
	p := prepared{module: module, n: nt, a: al, kind: n.Subject.Kind}
	select {
	case a.prepare <- p:
	default:
		// A storm: send without the picture rather than wait.
		graphsSkipped.Inc()
		a.dispatch(p)
	}
}

func (a *Alerting) dispatch(p prepared) {
	status, rule := p.a.Status, p.a.Rule
	a.disp.Send(p.module, p.n, p.a, func(at notify.Attempt) { a.attempt(at, status, rule) })
}

// preparer adds graphs to the notices of email modules, one at a time, in
// order, off the manager's goroutine.
func (a *Alerting) preparer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-a.prepare:
			if _, isEmail := p.n.(*notify.Email); isEmail && p.kind == "check" {
				p.a.Graph = a.graph(ctx, p.a)
			}
			a.dispatch(p)
		}
	}
}

// graph reads the subject's recent values and states for an email's
// picture; nil when there are none.
func (a *Alerting) graph(ctx context.Context, al notify.Alert) *notify.Graph {
	s := al.Subject
	end := al.Time
	q, err := a.db.Querier(end.Add(-a.opts.GraphWindow).UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil
	}
	defer q.Close()
	g := &notify.Graph{Title: fmt.Sprintf("%s %s/%s", s.Host, s.Check, s.Plugin)} // as notify.Alert.SubjectName
	ms := []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, metricValue+"|"+MetricState),
		labels.MustNewMatcher(labels.MatchEqual, "host", s.Host),
		labels.MustNewMatcher(labels.MatchEqual, "plugin", s.Plugin),
		labels.MustNewMatcher(labels.MatchEqual, "check", s.Check),
	}
	set := q.Select(ctx, true, nil, ms...)
	for set.Next() {
		name := set.At().Labels().Get(model.MetricNameLabel)
		it := set.At().Iterator(nil)
		last := ""
		for it.Next() == chunkenc.ValFloat {
			t, v := it.At()
			if name == metricValue {
				g.Points = append(g.Points, notify.Point{T: time.UnixMilli(t), V: v})
				continue
			}
			if st := alert.StateName("check", int(v)); st != last {
				g.States = append(g.States, notify.StatePoint{T: time.UnixMilli(t), State: st})
				last = st
			}
		}
	}
	if set.Err() != nil || len(g.Points) == 0 {
		return nil
	}
	return g
}

func toNotifyAlert(n alert.Notice, url string) notify.Alert {
	out := notify.Alert{ID: n.ID, Rule: n.Rule, Status: n.Status, State: n.State, From: n.From, Subject: n.Subject,
		Since: n.ActiveAt, Time: n.Time, Reason: n.Reason, Repeat: n.Repeat, Escalation: n.Escalation}
	if n.Ack != nil {
		out.Ack = &notify.Ack{By: n.Ack.By, Comment: n.Ack.Comment, At: n.Ack.At}
		if !n.Ack.Expires.IsZero() {
			e := n.Ack.Expires
			out.Ack.Expires = &e
		}
	}
	if url != "" {
		out.URL = strings.TrimRight(url, "/") + "/#/alerts/" + n.ID
	}
	return out
}

// attempt records a notification attempt in the history; one that failed
// for good goes to the system log too (at most a line a minute per module
// and error, with the count of the others).
func (a *Alerting) attempt(at notify.Attempt, status, rule string) {
	rec := &store.NotificationRecord{Time: at.Time.UnixMilli(), AlertID: at.AlertID, Rule: rule, Module: at.Module,
		Try: at.Try, Status: status, Error: at.Err, Retry: at.Retry, Payload: string(at.Payload)}
	a.history <- historyItem{attempt: rec}
	if at.Err == "" || !at.Final || at.Err == notify.ErrClosed {
		return
	}
	a.failMu.Lock()
	l := a.failLogs[at.Module]
	if l == nil {
		l = &limitedLog{}
		a.failLogs[at.Module] = l
	}
	text, ok := l.next(at.Err, fmt.Sprintf("alert module %s: the %s notification of rule %s (alert %s) failed for good after %d tries: %s",
		at.Module, status, rule, at.AlertID, at.Try, at.Err), at.Time.UnixMilli(), time.Minute.Milliseconds())
	a.failMu.Unlock()
	if ok {
		a.eng.rec.log(store.LogEntry{Time: at.Time.UnixMilli(), Level: "error", Component: "notify", Message: text})
	}
}

// AlertChanged implements alert.Recorder: the alert's lifecycle goes to the
// history.
func (a *Alerting) AlertChanged(al alert.Alert) {
	rec := &store.AlertRecord{Time: time.Now().UnixMilli(), AlertID: al.ID, Rule: al.Rule, Subject: al.Subject,
		Status: al.Status, State: al.State, From: al.From, Reason: al.Reason, ActiveAt: al.ActiveAt.UnixMilli(),
		Notified: al.Notified}
	if !al.FiredAt.IsZero() {
		rec.FiredAt = al.FiredAt.UnixMilli()
	}
	if !al.ResolvedAt.IsZero() {
		rec.ResolvedAt = al.ResolvedAt.UnixMilli()
	}
	if al.Ack != nil {
		k := store.Ack{SubjectKey: alert.SubjectKey(al.Subject), Subject: al.Subject, By: al.Ack.By, Comment: al.Ack.Comment,
			At: al.Ack.At.UnixMilli()}
		if !al.Ack.Expires.IsZero() {
			k.Expires = al.Ack.Expires.UnixMilli()
		}
		rec.Ack = &k
	}
	a.history <- historyItem{alert: rec}
}

// historian writes the history in batches until the channel closes.
func (a *Alerting) historian() {
	for it := range a.history {
		var alerts []store.AlertRecord
		var attempts []store.NotificationRecord
		add := func(it historyItem) {
			if it.alert != nil {
				alerts = append(alerts, *it.alert)
			}
			if it.attempt != nil {
				attempts = append(attempts, *it.attempt)
			}
		}
		add(it)
	more:
		for len(alerts)+len(attempts) < 1000 {
			select {
			case it, ok := <-a.history:
				if !ok {
					break more
				}
				add(it)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if len(alerts) > 0 {
			if err := a.st.AppendAlertHistory(ctx, alerts); err != nil {
				historyDropped.Inc()
				a.logger.Warn("write alert history", "records", len(alerts), "err", err)
			}
		}
		if len(attempts) > 0 {
			if err := a.st.AppendNotifications(ctx, attempts); err != nil {
				historyDropped.Inc()
				a.logger.Warn("write notification history", "records", len(attempts), "err", err)
			}
		}
		cancel()
	}
}

// Alerts returns the open alerts (the API, /api/v1/alerts).
func (a *Alerting) Alerts(ctx context.Context) ([]alert.Alert, error) { return a.mgr.Alerts(ctx) }

// AlertRules returns the configured alert rules (/api/v1/rules).
func (a *Alerting) AlertRules(ctx context.Context) ([]store.AlertRule, error) {
	return a.st.AlertRules(ctx)
}

// Acknowledge tells the manager about an acknowledgement the API saved.
func (a *Alerting) Acknowledge(ctx context.Context, subjectKey string, ack alert.Ack) error {
	if err := a.mgr.Acknowledge(ctx, subjectKey, ack); err != nil {
		return err
	}
	a.eng.RefreshServices(ctx) // services that ignore acknowledged members
	return nil
}

// Unacknowledge tells the manager an acknowledgement was removed.
func (a *Alerting) Unacknowledge(ctx context.Context, subjectKey string) error {
	if err := a.mgr.Unacknowledge(ctx, subjectKey); err != nil {
		return err
	}
	a.eng.RefreshServices(ctx)
	return nil
}

// TestModule sends a test alert through the module called name, at once
// (no queue, no retries), and returns its error.
func (a *Alerting) TestModule(ctx context.Context, name string) error {
	m, err := a.st.AlertModule(ctx, name)
	if err != nil {
		return err
	}
	n, err := notify.New(m)
	if err != nil {
		return err
	}
	_, err = notify.Test(ctx, n)
	return err
}

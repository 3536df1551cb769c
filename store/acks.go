package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// Ack is an acknowledgement of a subject's problem: someone is on it. The
// alert manager stops repeats and escalations of the subject's alerts
// until it recovers or the acknowledgement expires; the store keeps it so
// it survives a restart. Acks are records, not configuration: they wake no
// ConfigChanged watcher and are not part of the Document.
type Ack struct {
	// SubjectKey identifies the subject (rules/alert.SubjectKey:
	// "check/web1/disk/res", "host/web1", ...); one ack per subject.
	SubjectKey string  `json:"subject_key"`
	Subject    Subject `json:"subject"`
	// By names who acknowledged; Comment says why or what is being done.
	By      string `json:"by"`
	Comment string `json:"comment"`
	// At is when, in milliseconds since the Unix epoch; Expires when it
	// lapses (0: when the subject recovers).
	At      int64 `json:"at"`
	Expires int64 `json:"expires,omitempty"`
}

// Limits of acknowledgements.
const (
	// MaxAckComment bounds Ack.Comment.
	MaxAckComment = 4 << 10
	// maxSubjectKey bounds Ack.SubjectKey: a subject's names and labels.
	maxSubjectKey = 16 << 10
)

// AckStore keeps acknowledgements. Its writes do not wake ConfigChanged's
// watchers.
type AckStore interface {
	// SaveAck stores a, replacing the subject's previous acknowledgement.
	// An invalid one is an error wrapping ErrInvalid that names the field.
	SaveAck(ctx context.Context, a Ack) error
	// DeleteAck deletes the acknowledgement of a subject; none is an error
	// wrapping ErrNotFound.
	DeleteAck(ctx context.Context, subjectKey string) error
	// Acks returns every stored acknowledgement, by subject key, expired
	// ones included (the alert manager drops those).
	Acks(ctx context.Context) ([]Ack, error)
}

func (a *Ack) validate() error {
	if a.SubjectKey == "" {
		return invalidf("ack: subject_key is required")
	}
	if err := validText("ack", "subject_key", a.SubjectKey, maxSubjectKey); err != nil {
		return err
	}
	what := fmt.Sprintf("ack of %q", a.SubjectKey)
	if err := a.Subject.validate(what); err != nil {
		return err
	}
	if err := a.Subject.validateComplete(what); err != nil {
		return err
	}
	if err := validText(what, "by", a.By, maxCreatedBy); err != nil {
		return err
	}
	if err := validText(what, "comment", a.Comment, MaxAckComment); err != nil {
		return err
	}
	if a.At < 0 {
		return invalidf("%s: at %d is before 1970", what, a.At)
	}
	if a.Expires != 0 && a.Expires <= a.At {
		return invalidf("%s: expires %d must be after at %d (or 0: until recovery)", what, a.Expires, a.At)
	}
	return nil
}

// validateComplete checks that the subject names what its kind needs: a
// check its host and plugin, a host its host, a service its service, a
// trend series its rule.
func (s *Subject) validateComplete(what string) error {
	need := map[string][]struct{ field, v string }{
		"check":   {{"host", s.Host}, {"plugin", s.Plugin}},
		"host":    {{"host", s.Host}},
		"service": {{"service", s.Service}},
		"trend":   {{"rule", s.Rule}},
	}[s.Kind]
	for _, n := range need {
		if n.v == "" {
			return invalidf("%s: subject.%s is required for a subject of kind %s", what, n.field, s.Kind)
		}
	}
	return nil
}

// SaveAck implements AckStore.
func (s *sqlStore) SaveAck(ctx context.Context, a Ack) error {
	if err := a.validate(); err != nil {
		return err
	}
	subj, err := json.Marshal(a.Subject)
	if err != nil {
		return fmt.Errorf("save ack: %w", err)
	}
	err = s.writeData(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO acks (subject_key, subject, "by", comment, at, expires) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (subject_key) DO UPDATE SET subject = excluded.subject, "by" = excluded."by", comment = excluded.comment,
			at = excluded.at, expires = excluded.expires`, a.SubjectKey, string(subj), a.By, a.Comment, a.At, a.Expires)
		return err
	})
	if err != nil {
		return fmt.Errorf("save ack: %w", err)
	}
	return nil
}

// DeleteAck implements AckStore.
func (s *sqlStore) DeleteAck(ctx context.Context, subjectKey string) error {
	var n int64
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM acks WHERE subject_key = ?`, subjectKey)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("delete ack: %w", err)
	}
	if n == 0 {
		return notFoundf("no acknowledgement of %q", subjectKey)
	}
	return nil
}

// Acks implements AckStore.
func (s *sqlStore) Acks(ctx context.Context) ([]Ack, error) {
	out := []Ack{}
	err := s.read(ctx, func(q querier) error {
		return queryRows(ctx, q, func(rows *sql.Rows) error {
			var a Ack
			var subj string
			if err := rows.Scan(&a.SubjectKey, &subj, &a.By, &a.Comment, &a.At, &a.Expires); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(subj), &a.Subject); err != nil {
				return fmt.Errorf("ack of %q: corrupt subject: %w", a.SubjectKey, err)
			}
			out = append(out, a)
			return nil
		}, `SELECT subject_key, subject, "by", comment, at, expires FROM acks ORDER BY subject_key`)
	})
	if err != nil {
		return nil, fmt.Errorf("read acks: %w", err)
	}
	return out, nil
}

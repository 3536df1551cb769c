package main

import (
	"context"
	"errors"
)

func runLoadgen(context.Context, []string) error { return errors.New("not built yet") }

//go:build !unix

package krb

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs on this system") }

// This file reads a password for -u user when none was given: from the
// terminal with echo turned off (through stty, so that negcurl needs no
// module beyond those of package negotiate), or as one line of stdin when
// stdin is not a terminal.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
)

// readPassword prompts on stderr and reads one line. On a terminal, echo
// is off while the user types and is restored afterwards, also on Ctrl-C.
func readPassword(stdin *os.File, in *bufio.Reader, stderr io.Writer, prompt string) (string, error) {
	// stty fails on a character device that is no terminal (/dev/null).
	if !isCharDevice(stdin) || stty(stdin, "-echo") != nil {
		return readLine(in)
	}
	fmt.Fprint(stderr, prompt)
	defer fmt.Fprintln(stderr)
	// Restore echo if interrupted: a terminal left without echo is the
	// worst way for a tool to fail.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			stty(stdin, "echo")
			fmt.Fprintln(stderr)
			os.Exit(130)
		case <-done:
		}
	}()
	defer func() {
		signal.Stop(sig)
		close(done)
		stty(stdin, "echo")
	}()
	return readLine(in)
}

// readLine reads one line without its line ending.
func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on stdin: put it in -u user:password")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// isCharDevice reports whether f is a character device, as a terminal is.
func isCharDevice(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// stty runs stty on the terminal f.
func stty(f *os.File, arg string) error {
	cmd := exec.Command("stty", arg)
	cmd.Stdin = f
	return cmd.Run()
}

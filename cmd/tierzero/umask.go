package main

import "syscall"

// umask sets the process's file mode mask and returns the old one: the
// admin socket is created 0600 from the start, not chmod'ed after.
func umask(m int) int { return syscall.Umask(m) }

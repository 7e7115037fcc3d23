// This file adds what Linux knows of a file (inode, change time) to a
// FILE cache's stamp.

package ccache

import (
	"fmt"
	"io/fs"
	"syscall"
)

// fileID adds the inode and change time to a file's stamp: kinit may
// rename a new file over the cache, or rewrite it in place, within one
// tick of the coarse clock file times come from.
func fileID(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d %d.%d", st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
}

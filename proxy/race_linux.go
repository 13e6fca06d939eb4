//go:build race

package proxy

import (
	"runtime"
	"unsafe"
)

// raceWritten tells the race detector that the kernel wrote p (a raw read).
func raceWritten(p []byte) {
	if len(p) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(&p[0]), len(p))
	}
}

// raceRead tells the race detector that the kernel reads p (a raw write).
func raceRead(p []byte) {
	if len(p) > 0 {
		runtime.RaceReadRange(unsafe.Pointer(&p[0]), len(p))
	}
}

package capture

import (
	"net"

	"golang.org/x/sys/unix"
)

// setPromisc adds a PACKET_MR_PROMISC membership on a helper socket that
// lives as long as the capture: the kernel drops the membership when the
// socket closes, so a crashed sensor never leaves the NIC promiscuous.
// It returns the helper socket's descriptor, to be closed with the capture.
func setPromisc(iface string) (int, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

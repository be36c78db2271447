/*
 * bounds.h - every bound xds-lua puts on what it reads from guests and
 * hosts, each with the reason for its value.
 *
 * Guest memory is hostile input: a walk that a guest could make endless,
 * a count it could make huge, a string it could make unterminated, stops
 * at one of these.  Nothing outside this header writes such a number.
 */
#ifndef XDS_BOUNDS_H
#define XDS_BOUNDS_H

/* Guests of one run: more than a host of this tool's users runs with
 * priorities across them; slots are static arrays of this size. */
#define XDS_MAX_GUESTS 64

/* A guest's name (libvirt and Xen names are shorter; QEMU -name too). */
#define XDS_MAX_GUEST_NAME 64

#endif

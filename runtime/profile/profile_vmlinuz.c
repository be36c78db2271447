/*
 * profile_vmlinuz.c - the vmlinux inside an x86 bzImage (the image
 * package's /boot/vmlinuz), decompressed with its compressor's library:
 * liblzma for xz, zlib for gzip, libzstd for zstd, liblz4 for lz4 (the
 * kernel's legacy lz4 frames: Debian's cloud image).  The payload is where
 * the boot protocol's setup header says (payload_offset, payload_length,
 * protocol 2.08+); its magic names the compressor.  The output goes to an
 * anonymous file (memfd) so that libelf and libbpf read it by path; its
 * size is bounded (XDS_MAX_VMLINUX).  What is in the ELF is not ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "profile/profile_int.h"
#include "util/bounds.h"

#define CHUNK (1u << 20)

struct sink {
	int fd;
	uint64_t total;
	const char *path;
	struct xds_err *err;
};

static int sink_write(struct sink *s, const void *buf, size_t n)
{
	if ((s->total += n) > XDS_MAX_VMLINUX)
		return xds_fail(s->err, "%s: payload decompresses to more than "
				"%llu bytes", s->path,
				(unsigned long long)XDS_MAX_VMLINUX);
	const char *p = buf;
	while (n) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0)
			return xds_fail(s->err, "%s: writing the vmlinux: %s",
					s->path, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int unxz(const uint8_t *in, size_t n, struct sink *s, uint8_t *out)
{
	lzma_stream z = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&z, UINT64_MAX, 0) != LZMA_OK)
		return xds_fail(s->err, "%s: liblzma will not start", s->path);
	z.next_in = in;
	z.avail_in = n;
	lzma_ret r;
	do {
		z.next_out = out;
		z.avail_out = CHUNK;
		r = lzma_code(&z, LZMA_FINISH);
		if ((r == LZMA_OK || r == LZMA_STREAM_END) &&
		    sink_write(s, out, CHUNK - z.avail_out) < 0) {
			lzma_end(&z);
			return -1;
		}
	} while (r == LZMA_OK);
	lzma_end(&z);
	return r == LZMA_STREAM_END ? 0 :
	       xds_fail(s->err, "%s: xz payload: liblzma error %d", s->path, r);
}

static int gunzip(const uint8_t *in, size_t n, struct sink *s, uint8_t *out)
{
	z_stream z = { 0 };
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return xds_fail(s->err, "%s: zlib will not start", s->path);
	z.next_in = (Bytef *)in;
	z.avail_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
	int r;
	do {
		z.next_out = out;
		z.avail_out = CHUNK;
		r = inflate(&z, Z_NO_FLUSH);
		if ((r == Z_OK || r == Z_STREAM_END) &&
		    sink_write(s, out, CHUNK - z.avail_out) < 0) {
			inflateEnd(&z);
			return -1;
		}
	} while (r == Z_OK);
	inflateEnd(&z);
	return r == Z_STREAM_END ? 0 :
	       xds_fail(s->err, "%s: gzip payload: zlib error %d", s->path, r);
}

static int unzstd(const uint8_t *in, size_t n, struct sink *s, uint8_t *out)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	if (!z)
		return xds_fail(s->err, "%s: libzstd will not start", s->path);
	ZSTD_inBuffer ib = { in, n, 0 };
	size_t r = 1;
	while (r != 0) {
		ZSTD_outBuffer ob = { out, CHUNK, 0 };
		r = ZSTD_decompressStream(z, &ob, &ib);
		if (ZSTD_isError(r)) {
			ZSTD_freeDStream(z);
			return xds_fail(s->err, "%s: zstd payload: %s", s->path,
					ZSTD_getErrorName(r));
		}
		if (sink_write(s, out, ob.pos) < 0) {
			ZSTD_freeDStream(z);
			return -1;
		}
		if (r != 0 && ib.pos == ib.size && ob.pos < ob.size) {
			ZSTD_freeDStream(z);
			return xds_fail(s->err, "%s: zstd payload truncated",
					s->path);
		}
	}
	ZSTD_freeDStream(z);
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)    /* each block decompresses to at most this */

/* lz4's legacy format, as the kernel's build writes it: the magic, then
 * blocks of (u32 compressed size, data), each up to 8 MiB decompressed; it
 * ends with the input, with a 4-byte trailer (the kernel appends the
 * decompressed size) or with another frame's magic. */
static int unlz4(const uint8_t *in, size_t n, struct sink *s)
{
	char *out = malloc(LZ4_LEGACY_BLOCK);
	if (!out)
		return xds_fail(s->err, "out of memory");
	size_t at = 4;
	int rc = 0, blocks = 0;
	while (rc == 0 && n - at >= 4) {
		uint32_t len = le32(in + at);
		if (len == LZ4_LEGACY_MAGIC || (n - at == 4 && blocks))
			break;
		if (len == 0 || len > n - at - 4 || len > (uint32_t)LZ4_compressBound((int)LZ4_LEGACY_BLOCK)) {
			rc = xds_fail(s->err, "%s: lz4 block %d of %u bytes at payload +%zu does not fit",
				      s->path, blocks, len, at);
			break;
		}
		int got = LZ4_decompress_safe((const char *)in + at + 4, out, (int)len, (int)LZ4_LEGACY_BLOCK);
		if (got < 0)
			rc = xds_fail(s->err, "%s: lz4 block %d at payload +%zu is corrupt", s->path, blocks, at);
		else
			rc = sink_write(s, out, (size_t)got);
		at += 4 + (size_t)len;
		blocks++;
	}
	free(out);
	if (rc == 0 && !blocks)
		rc = xds_fail(s->err, "%s: lz4 payload has no block", s->path);
	return rc;
}

/* The compressed payload inside the bzImage, from its setup header. */
static int payload(const uint8_t *b, size_t n, const char *path,
		   size_t *off, size_t *len, struct xds_err *err)
{
	if (n < 0x250 || memcmp(b + 0x202, "HdrS", 4) != 0)
		return xds_fail(err, "%s: not a bzImage (no HdrS header)", path);
	if ((b[0x206] | b[0x207] << 8) < 0x208)
		return xds_fail(err, "%s: boot protocol too old for a payload "
				"offset", path);
	size_t setup = (size_t)(b[0x1f1] ? b[0x1f1] : 4) + 1;
	size_t start = setup * 512 + le32(b + 0x248);
	*len = le32(b + 0x24c);
	if (start > n || *len > n - start || *len < 6)
		return xds_fail(err, "%s: payload outside the file", path);
	*off = start;
	return 0;
}

static int unpack(const uint8_t *b, size_t n, struct sink *s)
{
	size_t off = 0, len = 0;
	if (payload(b, n, s->path, &off, &len, s->err) < 0)
		return -1;
	const uint8_t *in = b + off;
	uint8_t *out = malloc(CHUNK);
	if (!out)
		return xds_fail(s->err, "out of memory");
	int rc;
	if (memcmp(in, "\xfd" "7zXZ\0", 6) == 0)
		rc = unxz(in, len, s, out);
	else if (in[0] == 0x1f && in[1] == 0x8b)
		rc = gunzip(in, len, s, out);
	else if (le32(in) == 0xfd2fb528)
		rc = unzstd(in, len, s, out);
	else if (le32(in) == LZ4_LEGACY_MAGIC)
		rc = unlz4(in, len, s);
	else
		rc = xds_fail(s->err, "%s: payload compressed with something "
			      "other than xz, gzip, zstd or lz4 (magic %02x %02x)",
			      s->path, in[0], in[1]);
	free(out);
	return rc;
}

int profile_vmlinuz_open(const char *vmlinuz, int *fd, char *path,
			 size_t pathsz, struct xds_err *err)
{
	int in = open(vmlinuz, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return xds_fail(err, "%s: %s", vmlinuz, strerror(errno));
	struct stat st;
	void *map = MAP_FAILED;
	if (fstat(in, &st) == 0 && st.st_size > 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			   in, 0);
	close(in);
	if (map == MAP_FAILED)
		return xds_fail(err, "%s: cannot map: %s", vmlinuz,
				strerror(errno));
	struct sink s = { memfd_create("vmlinux", MFD_CLOEXEC), 0, vmlinuz,
			  err };
	int rc = s.fd < 0 ? xds_fail(err, "memfd: %s", strerror(errno)) :
			    unpack(map, (size_t)st.st_size, &s);
	munmap(map, (size_t)st.st_size);
	if (rc < 0) {
		if (s.fd >= 0)
			close(s.fd);
		return -1;
	}
	*fd = s.fd;
	snprintf(path, pathsz, "/proc/self/fd/%d", s.fd);
	return 0;
}

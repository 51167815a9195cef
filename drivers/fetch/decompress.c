/* decompress.c: streaming decompression of downloads (.gz through zlib,
 * .xz through liblzma, .zst through libzstd), fed as bytes arrive and
 * writing to a sink, so an image is never held in memory whole. Not for
 * checksums: those are of the bytes as served (curl.c). */
#include <lzma.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#include "fetch_internal.h"

#define VF_UNPACK_CHUNK (256u * 1024)

struct vf_unpacker {
	vf_codec codec;
	vf_sink_fn sink;
	void *userdata;
	unsigned char *out;
	bool ended;               /* the (last) compressed stream ended cleanly */
	z_stream z;
	lzma_stream x;
	ZSTD_DStream *zs;
};

static const char *const vf_codec_names[VF_CODEC_MAX] = {
	[VF_CODEC_NONE] = "none", [VF_CODEC_GZ] = "gzip", [VF_CODEC_XZ] = "xz",
	[VF_CODEC_ZSTD] = "zstd",
};

const char *vf_codec_name(vf_codec c)
{
	return c < VF_CODEC_MAX ? vf_codec_names[c] : "?";
}

vf_codec vf_codec_for_url(const char *url)
{
	size_t n = strcspn(url, "?#");
	static const struct {
		const char *suffix;
		vf_codec codec;
	} map[] = { { ".gz", VF_CODEC_GZ }, { ".xz", VF_CODEC_XZ }, { ".zst", VF_CODEC_ZSTD } };
	for (size_t i = 0; i < VF_ARRAY_SIZE(map); i++) {
		size_t l = strlen(map[i].suffix);
		if (n >= l && strncasecmp(url + n - l, map[i].suffix, l) == 0)
			return map[i].codec;
	}
	return VF_CODEC_NONE;
}

vf_unpacker *vf_unpacker_new(vf_codec c, vf_sink_fn sink, void *userdata)
{
	vf_unpacker *u = vf_calloc(1, sizeof(*u));
	u->codec = c;
	u->sink = sink;
	u->userdata = userdata;
	u->out = vf_malloc(VF_UNPACK_CHUNK);
	switch (c) {
	case VF_CODEC_GZ:
		/* 15 + 32: a zlib or gzip header, detected */
		if (inflateInit2(&u->z, 15 + 32) != Z_OK)
			abort();
		break;
	case VF_CODEC_XZ: {
		lzma_stream init = LZMA_STREAM_INIT;
		u->x = init;
		if (lzma_stream_decoder(&u->x, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
			abort();
		break;
	}
	case VF_CODEC_ZSTD:
		u->zs = ZSTD_createDStream();
		if (!u->zs || ZSTD_isError(ZSTD_initDStream(u->zs)))
			abort();
		break;
	case VF_CODEC_NONE:
	case VF_CODEC_MAX:
		break;
	}
	return u;
}

void vf_unpacker_free(vf_unpacker *u)
{
	if (!u)
		return;
	if (u->codec == VF_CODEC_GZ)
		inflateEnd(&u->z);
	else if (u->codec == VF_CODEC_XZ)
		lzma_end(&u->x);
	else if (u->codec == VF_CODEC_ZSTD)
		ZSTD_freeDStream(u->zs);
	free(u->out);
	free(u);
}

static int vf_unpack__gz(vf_unpacker *u, const void *data, size_t len, vf_error *err)
{
	u->z.next_in = (Bytef *)(uintptr_t)data;
	u->z.avail_in = (uInt)len;
	while (u->z.avail_in > 0) {
		if (u->ended) {
			/* another gzip member follows (concatenated .gz) */
			if (inflateReset(&u->z) != Z_OK)
				abort();
			u->ended = false;
		}
		u->z.next_out = u->out;
		u->z.avail_out = VF_UNPACK_CHUNK;
		int r = inflate(&u->z, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
			return vf_error_set(err, VF_E_IO, "cannot decompress gzip data: %s",
					    u->z.msg ? u->z.msg : "corrupt stream");
		size_t got = VF_UNPACK_CHUNK - u->z.avail_out;
		if (got && u->sink(u->out, got, u->userdata, err) < 0)
			return -(int)err->code;
		if (r == Z_STREAM_END)
			u->ended = true;
		else if (r == Z_BUF_ERROR && got == 0)
			break;
	}
	return 0;
}

static int vf_unpack__xz(vf_unpacker *u, const void *data, size_t len, lzma_action act,
			 vf_error *err)
{
	u->x.next_in = data;
	u->x.avail_in = len;
	for (;;) {
		u->x.next_out = u->out;
		u->x.avail_out = VF_UNPACK_CHUNK;
		lzma_ret r = lzma_code(&u->x, act);
		size_t got = VF_UNPACK_CHUNK - u->x.avail_out;
		if (got && u->sink(u->out, got, u->userdata, err) < 0)
			return -(int)err->code;
		if (r == LZMA_STREAM_END) {
			u->ended = true;
			return 0;
		}
		if (r == LZMA_BUF_ERROR && act == LZMA_FINISH)
			return vf_error_set(err, VF_E_IO, "cannot decompress xz data: the stream is truncated");
		if (r != LZMA_OK)
			return vf_error_set(err, VF_E_IO, "cannot decompress xz data: %s",
					    r == LZMA_FORMAT_ERROR ? "not in xz format"
					    : r == LZMA_DATA_ERROR ? "corrupt data"
								   : "decoder error");
		if (u->x.avail_in == 0 && got < VF_UNPACK_CHUNK && act == LZMA_RUN)
			return 0;
	}
}

static int vf_unpack__zstd(vf_unpacker *u, const void *data, size_t len, vf_error *err)
{
	ZSTD_inBuffer in = { data, len, 0 };
	for (;;) {
		ZSTD_outBuffer out = { u->out, VF_UNPACK_CHUNK, 0 };
		size_t before = in.pos;
		size_t r = ZSTD_decompressStream(u->zs, &out, &in);
		if (ZSTD_isError(r))
			return vf_error_set(err, VF_E_IO, "cannot decompress zstd data: %s",
					    ZSTD_getErrorName(r));
		if (out.pos && u->sink(u->out, out.pos, u->userdata, err) < 0)
			return -(int)err->code;
		/* r == 0: a frame is complete and flushed. A later call that
		 * takes no input (the frame ended exactly at a full buffer)
		 * returns the next frame's header size, not 0: still ended. */
		if (r == 0)
			u->ended = true;
		else if (in.pos > before)
			u->ended = false;
		if (in.pos == in.size && out.pos < out.size)
			return 0;
	}
}

int vf_unpacker_feed(vf_unpacker *u, const void *data, size_t len, vf_error *err)
{
	if (len == 0)
		return 0;
	switch (u->codec) {
	case VF_CODEC_GZ:
		return vf_unpack__gz(u, data, len, err);
	case VF_CODEC_XZ:
		return vf_unpack__xz(u, data, len, LZMA_RUN, err);
	case VF_CODEC_ZSTD:
		return vf_unpack__zstd(u, data, len, err);
	case VF_CODEC_NONE:
	case VF_CODEC_MAX:
		break;
	}
	return u->sink(data, len, u->userdata, err);
}

int vf_unpacker_finish(vf_unpacker *u, vf_error *err)
{
	if (u->codec == VF_CODEC_XZ && !u->ended) {
		int r = vf_unpack__xz(u, NULL, 0, LZMA_FINISH, err);
		if (r < 0)
			return r;
	}
	if (u->codec != VF_CODEC_NONE && !u->ended)
		return vf_error_set(err, VF_E_IO,
				    "cannot decompress %s data: the compressed stream ends early",
				    vf_codec_name(u->codec));
	return 0;
}

bool vf_fetch_url_compressed(const char *url)
{
	return vf_codec_for_url(url) != VF_CODEC_NONE;
}

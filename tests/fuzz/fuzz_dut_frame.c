/* Fuzz target: the host's streaming DUT frame decoder (rig/lib/dut/frame.c)
 * on arbitrary byte streams pushed in arbitrary pieces. Oracles from
 * docs/protocol.md §2 and frame.h: every accepted frame appears verbatim in
 * the stream with a CRC the reference CRC-32 confirms and len <= 1024; every
 * byte ends up in exactly one of an accepted frame, the garbage count or the
 * buffer; expire() leaves nothing partial. */
#include <stdlib.h>
#include <string.h>

#include "dut/frame.h"
#include "fuzz.h"

static const uint8_t *find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static void check_frame(const struct rigi_frame *fr, const uint8_t *data, size_t size)
{
	uint8_t enc[RIGI_FRAME_MAX], ref[RIGI_FRAME_MAX];
	size_t elen = 0, rlen;

	FUZZ_CHECK(fr->len <= RIGI_FRAME_MAX_PAYLOAD, "accepted len %u", fr->len);
	rlen = fuzz_frame(ref, fr->type, fr->seq, fr->payload, fr->len);
	FUZZ_CHECK(rigi_frame_encode(fr->type, fr->seq, fr->payload, fr->len, enc, sizeof(enc),
				     &elen) == 0, "re-encoding an accepted frame failed");
	FUZZ_CHECK(elen == rlen && memcmp(enc, ref, rlen) == 0,
		   "rigi_frame_encode differs from the reference encoder (len %u)", fr->len);
	FUZZ_CHECK(find(data, size, ref, rlen) != NULL,
		   "accepted frame (type 0x%02x seq %u len %u) is not in the input", fr->type,
		   fr->seq, fr->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rigi_frame_decoder dec;
	static struct rigi_frame fr;
	size_t piece, pos = 0, accepted_bytes = 0;
	const uint8_t *stream;
	size_t n;

	fuzz_quiet();
	if (size < 1)
		return 0;
	/* First byte: the size of the pieces the transport delivers (1..256). */
	piece = (size_t)data[0] + 1;
	stream = data + 1;
	n = size - 1;
	rigi_frame_decoder_init(&dec);
	while (pos < n) {
		size_t want = n - pos < piece ? n - pos : piece;
		size_t room = rigi_frame_decoder_room(&dec);
		size_t took = rigi_frame_decoder_push(&dec, stream + pos, want);
		FUZZ_CHECK(took == (want < room ? want : room), "push took %zu of %zu (room %zu)",
			   took, want, room);
		pos += took;
		for (;;) {
			int ret = rigi_frame_decoder_next(&dec, &fr);
			if (ret == 0)
				break;
			if (ret == 1) {
				check_frame(&fr, stream, n);
				accepted_bytes += RIGI_FRAME_HEADER + fr.len + RIGI_FRAME_CRC;
			}
		}
		FUZZ_CHECK(took > 0 || rigi_frame_decoder_room(&dec) > 0, "decoder stuck full");
		FUZZ_CHECK(accepted_bytes + dec.garbage + dec.have == pos,
			   "byte accounting: %zu accepted + %llu garbage + %zu buffered != %zu pushed",
			   accepted_bytes, (unsigned long long)dec.garbage, dec.have, pos);
	}
	FUZZ_CHECK(rigi_frame_decoder_partial(&dec) <= dec.have, "partial %zu > buffered %zu",
		   rigi_frame_decoder_partial(&dec), dec.have);
	rigi_frame_decoder_expire(&dec);
	FUZZ_CHECK(rigi_frame_decoder_partial(&dec) == 0, "partial frame left after expire");
	FUZZ_CHECK(accepted_bytes + dec.garbage + dec.have == n, "byte accounting after expire");
	return 0;
}

/*
 * sha256: the FIPS 180-2 and RFC 4231 answers, and a digest over many
 * message lengths (every padding case), from whichever block function this
 * processor gets. meson runs it twice: as is, and with HUB_SHA256_PORTABLE
 * set, so both block functions give the known answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sha256.h"

static void s_hex_of(const void *data, size_t len, char out[HUB_SHA256_HEX_LEN])
{
    uint8_t digest[HUB_SHA256_LEN];
    hub_sha256(data, len, digest);
    hub_hex(digest, sizeof digest, out);
}

static void test_fips_vectors(void)
{
    static const struct {
        const char *text, *digest;
    } table[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    char hex[HUB_SHA256_HEX_LEN];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        s_hex_of(table[i].text, strlen(table[i].text), hex);
        CHECK_STR(hex, table[i].digest);
    }
}

static void test_million_a_in_pieces(void)
{
    hub_sha256_ctx_t ctx;
    hub_sha256_init(&ctx);
    char a[997];
    memset(a, 'a', sizeof a);
    size_t left = 1000000;
    while (left > 0) { /* odd piece sizes cross block boundaries everywhere */
        size_t n = left < sizeof a ? left : sizeof a;
        hub_sha256_update(&ctx, a, n);
        left -= n;
    }
    uint8_t digest[HUB_SHA256_LEN];
    char hex[HUB_SHA256_HEX_LEN];
    hub_sha256_final(&ctx, digest);
    hub_hex(digest, sizeof digest, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_every_padding_case(void)
{
    /* digest of the digests of messages of 0, 7, 14, ... 1498 bytes */
    hub_sha256_ctx_t all;
    hub_sha256_init(&all);
    uint8_t msg[1500], digest[HUB_SHA256_LEN];
    for (size_t n = 0; n < 1500; n += 7) {
        for (size_t i = 0; i < n; i++)
            msg[i] = (uint8_t)((i * 31 + n) & 0xff);
        hub_sha256(msg, n, digest);
        hub_sha256_update(&all, digest, sizeof digest);
    }
    char hex[HUB_SHA256_HEX_LEN];
    hub_sha256_final(&all, digest);
    hub_hex(digest, sizeof digest, hex);
    CHECK_STR(hex, "ff8371bd7fcf19acac7b51cb5204c05a20aee0681030ef2a1bbb08e4831e4a89");
}

static void test_hmac_rfc4231(void)
{
    uint8_t key1[20], key6[131], mac[HUB_SHA256_LEN];
    char hex[HUB_SHA256_HEX_LEN];
    memset(key1, 0x0b, sizeof key1);
    memset(key6, 0xaa, sizeof key6);
    hub_hmac_sha256(key1, sizeof key1, "Hi There", 8, mac);
    hub_hex(mac, sizeof mac, hex);
    CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hub_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    hub_hex(mac, sizeof mac, hex);
    CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    const char *text = "Test Using Larger Than Block-Size Key - Hash Key First";
    hub_hmac_sha256(key6, sizeof key6, text, strlen(text), mac);
    hub_hex(mac, sizeof mac, hex);
    CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static const check_case_t cases[] = {
    {"FIPS 180-2 vectors", test_fips_vectors},
    {"a million a in pieces", test_million_a_in_pieces},
    {"every padding case", test_every_padding_case},
    {"HMAC RFC 4231", test_hmac_rfc4231},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}

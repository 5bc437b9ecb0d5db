/* selfsigned.h: a self-signed P-256 certificate and its key, for the tests and fuzz targets
 * that need a TLS server (tests/test_server.c, fuzz/fuzz_tls.c).
 *   selfsigned_write(cn, cert, key)  makes the pair and writes it as PEM to two fresh files,
 *                                    cert and key being mkstemp(3) templates (rewritten with
 *                                    the names); valid from a minute ago for a day; it is its
 *                                    own CA, so a peer trusting cert accepts it. false on any
 *                                    failure, with no file left. */
#ifndef PRIMGR_TEST_SELFSIGNED_H
#define PRIMGR_TEST_SELFSIGNED_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A P-256 key (OpenSSL 1.1.1 and 3 alike; EVP_EC_gen is 3 only). */
__attribute__((unused)) static EVP_PKEY *selfsigned_key(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *pk = NULL;

	if (!kc || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1) != 1 ||
	    EVP_PKEY_keygen(kc, &pk) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(kc);
	return pk;
}

__attribute__((unused)) static bool selfsigned_write(const char *cn, char *cert, char *key)
{
	int cfd = mkstemp(cert), kfd = mkstemp(key);
	EVP_PKEY *pk = selfsigned_key();
	X509 *x = X509_new();
	FILE *cf = cfd >= 0 ? fdopen(cfd, "w") : NULL, *kf = kfd >= 0 ? fdopen(kfd, "w") : NULL;
	bool ok = pk && x && cf && kf;

	if (ok) {
		ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
		X509_gmtime_adj(X509_getm_notBefore(x), -60);
		X509_gmtime_adj(X509_getm_notAfter(x), 86400);
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					   (const unsigned char *)cn, -1, -1, 0);
		X509_set_issuer_name(x, X509_get_subject_name(x));
		ok = X509_set_pubkey(x, pk) && X509_sign(x, pk, EVP_sha256()) &&
		     PEM_write_X509(cf, x) && PEM_write_PrivateKey(kf, pk, NULL, NULL, 0, NULL, NULL);
	}
	/* PEM output is buffered: a write that failed shows at fclose */
	if (cf)
		ok = fclose(cf) == 0 && ok;
	else if (cfd >= 0)
		close(cfd);
	if (kf)
		ok = fclose(kf) == 0 && ok;
	else if (kfd >= 0)
		close(kfd);
	if (!ok) {
		if (cfd >= 0)
			unlink(cert);
		if (kfd >= 0)
			unlink(key);
	}
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok;
}

#endif

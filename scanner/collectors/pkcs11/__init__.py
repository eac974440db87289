"""The PKCS#11 collector: inventories HSM tokens, their keys, certificates and mechanisms."""

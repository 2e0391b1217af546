// A `request.cf` of the platform's shape and size (geo, TLS, bot management), the
// same for every bench request. workerd parses it from the `MF-CF-Blob` header, as
// the edge hands it over, so a worker that reads `cf` pays what it pays there.
export const CF = {
  asOrganization: "Deutsche Telekom AG", asn: 3320, colo: "FRA", city: "Berlin", region: "Land Berlin",
  regionCode: "BE", metroCode: "0", postalCode: "10115", country: "DE", continent: "EU", isEUCountry: "1",
  timezone: "Europe/Berlin", latitude: "52.52000", longitude: "13.40500", clientTcpRtt: 12,
  httpProtocol: "HTTP/1.1", requestPriority: "weight=192;exclusive=0", tlsCipher: "AEAD-AES128-GCM-SHA256",
  tlsVersion: "TLSv1.3",
  tlsClientAuth: {
    certPresented: "0", certVerified: "NONE", certRevoked: "0", certIssuerDN: "", certSubjectDN: "",
    certIssuerDNRFC2253: "", certSubjectDNRFC2253: "", certIssuerDNLegacy: "", certSubjectDNLegacy: "",
    certSerial: "", certIssuerSerial: "", certSKI: "", certIssuerSKI: "", certFingerprintSHA1: "",
    certFingerprintSHA256: "", certNotBefore: "", certNotAfter: "",
  },
  edgeRequestKeepAliveStatus: 1, clientTrustScore: 99,
  botManagement: { corporateProxy: false, verifiedBot: false, ja3Hash: "25b4882c2bcb50cd6b469ff28c596742", staticResource: false, detectionIds: [], score: 99 },
  clientAcceptEncoding: "gzip, deflate, br",
};
export const CF_HEADER = "MF-CF-Blob";

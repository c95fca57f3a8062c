package io.chariots.launcher.cluster;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A throwaway certificate authority for local clusters ({@code ./chariots
 * certs}, {@code ./chariots up --tls}, the TLS tests): in a directory, the CA
 * ({@code ca.pem}, {@code ca.key}) and one member certificate every role
 * shares ({@code member.pem}, {@code member.key}: PKCS#8), for client and
 * server use, named {@value io.chariots.common.net.ClusterTls#DEFAULT_AUTHORITY}
 * (what peers check), {@code localhost} and 127.0.0.1, plus any names asked
 * for. EC P-256 keys, readable by their owner only. Not for production: its
 * key sits next to its certificate.
 */
public final class LocalCa {
    public static final String CA = "ca.pem";
    public static final String CA_KEY = "ca.key";
    public static final String CERT = "member.pem";
    public static final String KEY = "member.key";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The files a role's {@code tls.*} settings name. */
    public record Files3(Path ca, Path cert, Path key) {
    }

    private LocalCa() {
    }

    /**
     * The CA and member certificate in {@code dir}, made if missing (an
     * existing CA is kept, so certificates made earlier stay trusted).
     *
     * @param names more DNS names or IP addresses the member certificate is valid for
     */
    public static Files3 ensure(Path dir, List<String> names) throws IOException {
        Files.createDirectories(dir);
        Path ca = dir.resolve(CA);
        Path caKey = dir.resolve(CA_KEY);
        Path cert = dir.resolve(CERT);
        Path key = dir.resolve(KEY);
        try {
            if (!Files.exists(ca) || !Files.exists(caKey)) {
                KeyPair kp = keyPair();
                X500Name name = new X500Name("CN=Chariots local CA " + Long.toHexString(RANDOM.nextLong() >>> 16));
                X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), notBefore(),
                        Date.from(Instant.now().plus(Duration.ofDays(3650))), name, kp.getPublic());
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
                b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
                write(caKey, pem(new JcaPKCS8Generator(kp.getPrivate(), null)), true);
                write(ca, pem(sign(b, kp.getPrivate())), false);
                Files.deleteIfExists(cert); // signed by an older CA
            }
            if (!Files.exists(cert) || !Files.exists(key)) {
                X509Certificate caCert = readCert(ca);
                PrivateKey caPrivate = readKey(caKey);
                KeyPair kp = keyPair();
                X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(), notBefore(),
                        Date.from(Instant.now().plus(Duration.ofDays(825))),
                        new X500Name("CN=" + io.chariots.common.net.ClusterTls.DEFAULT_AUTHORITY), kp.getPublic());
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
                b.addExtension(Extension.extendedKeyUsage, false,
                        new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
                Set<String> all = new LinkedHashSet<>(List.of(io.chariots.common.net.ClusterTls.DEFAULT_AUTHORITY, "localhost", "127.0.0.1"));
                all.addAll(names);
                List<GeneralName> san = new ArrayList<>();
                for (String n : all) {
                    san.add(new GeneralName(n.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName, n));
                }
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(san.toArray(GeneralName[]::new)));
                write(key, pem(new JcaPKCS8Generator(kp.getPrivate(), null)), true);
                write(cert, pem(sign(b, caPrivate)), false);
            }
        } catch (GeneralSecurityException | org.bouncycastle.operator.OperatorCreationException e) {
            throw new IOException("cannot make the local CA in " + dir + ": " + e, e);
        }
        return new Files3(ca, cert, key);
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256, RANDOM);
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).add(BigInteger.ONE);
    }

    private static Date notBefore() {
        return Date.from(Instant.now().minus(Duration.ofDays(1))); // clocks a little behind still accept it
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey by)
            throws GeneralSecurityException, org.bouncycastle.operator.OperatorCreationException {
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(by);
        return new JcaX509CertificateConverter().getCertificate(b.build(signer));
    }

    private static String pem(Object o) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }

    private static X509Certificate readCert(Path p) throws IOException, GeneralSecurityException {
        try (var in = Files.newInputStream(p)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static PrivateKey readKey(Path p) throws IOException, GeneralSecurityException {
        String text = Files.readString(p).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return java.security.KeyFactory.getInstance("EC")
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(text)));
    }

    private static void write(Path p, String text, boolean secret) throws IOException {
        Path tmp = Files.createTempFile(p.getParent(), p.getFileName().toString(), ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")));
        Files.writeString(tmp, text);
        Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}

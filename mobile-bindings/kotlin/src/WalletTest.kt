// JVM tests of the generated Kotlin bindings against the real libgovid_ffi.so.
//
// Run by mobile-bindings/test.sh; needs the environment it sets:
//   GOVID_TEST_ISSUER  the test_issuer example binary (acts as HR)
//   GOVID_VERIFIER     the govid-verifier binary (checks presentations like a gate)
//   GOVID_WORK         a scratch directory
// `main(["bench", N])` times N presentRotating calls instead.

import example.govid.wallet.*
import java.io.File
import java.math.BigInteger
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess

const val ISSUER_ID = "did:web:hr.test.govid.example"
const val GATE = "https://gate-7.hq.govid.example"

fun b64url(bytes: ByteArray): String = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)

/** A coordinate as exactly 32 big-endian bytes. */
fun coord(n: BigInteger): ByteArray {
    val raw = n.toByteArray()
    val out = ByteArray(32)
    val src = if (raw.size > 32) raw.copyOfRange(raw.size - 32, raw.size) else raw
    System.arraycopy(src, 0, out, 32 - src.size, src.size)
    return out
}

/** How a test key store misbehaves. */
enum class Mode { RAW, DER, GARBAGE, CANCEL, CRASH }

/**
 * A KeyStore backed by JCA P-256 keys in memory: what an Android app does with the Android
 * Keystore, minus the hardware. RAW signs in JOSE form (r‖s, "SHA256withECDSAinP1363Format");
 * DER returns ASN.1 DER as Android/iOS do by default (the library converts it).
 */
class JcaKeyStore(@Volatile var mode: Mode = Mode.RAW) : KeyStore {
    val keys = ConcurrentHashMap<String, KeyPair>()
    val signCalls = java.util.concurrent.atomic.AtomicInteger()

    override fun createKey(alias: String, alg: KeyAlgorithm): String {
        if (alg != KeyAlgorithm.ES256) throw KeyStoreException.UnsupportedAlgorithm()
        if (keys.containsKey(alias)) throw KeyStoreException.KeyExists(alias)
        val gen = KeyPairGenerator.getInstance("EC")
        gen.initialize(ECGenParameterSpec("secp256r1"))
        keys[alias] = gen.generateKeyPair()
        return publicJwk(alias)
    }

    override fun sign(alias: String, message: ByteArray): ByteArray {
        signCalls.incrementAndGet()
        val pair = keys[alias] ?: throw KeyStoreException.KeyNotFound(alias)
        return when (mode) {
            Mode.RAW -> Signature.getInstance("SHA256withECDSAinP1363Format").run {
                initSign(pair.private); update(message); sign()
            }
            Mode.DER -> Signature.getInstance("SHA256withECDSA").run {
                initSign(pair.private); update(message); sign()
            }
            Mode.GARBAGE -> ByteArray(64) { 7 }
            Mode.CANCEL -> throw KeyStoreException.UserCancelled()
            Mode.CRASH -> throw IllegalStateException("keystore bug")
        }
    }

    override fun publicJwk(alias: String): String {
        val pub = (keys[alias] ?: throw KeyStoreException.KeyNotFound(alias)).public as ECPublicKey
        val x = b64url(coord(pub.w.affineX))
        val y = b64url(coord(pub.w.affineY))
        return """{"kty":"EC","crv":"P-256","x":"$x","y":"$y"}"""
    }

    override fun deleteKey(alias: String) {
        keys.remove(alias)
    }
}

// ---- a tiny test runner ----------------------------------------------------------------------

var passed = 0
var failed = 0

fun check(cond: Boolean, what: String) {
    if (!cond) throw AssertionError(what)
}

fun test(name: String, body: () -> Unit) {
    try {
        body()
        passed++
        println("ok   $name")
    } catch (e: Throwable) {
        failed++
        println("FAIL $name: $e")
        e.printStackTrace(System.out)
    }
}

inline fun <reified T : Throwable> expectThrows(what: String, body: () -> Unit): T {
    try {
        body()
    } catch (e: Throwable) {
        if (e is T) return e
        throw AssertionError("$what: expected ${T::class.simpleName}, got $e")
    }
    throw AssertionError("$what: expected ${T::class.simpleName}, nothing thrown")
}

// ---- helpers that play HR and the gate -------------------------------------------------------

data class Run(val code: Int, val out: String, val err: String)

fun run(vararg cmd: String, stdin: String = ""): Run {
    val p = ProcessBuilder(*cmd).start()
    p.outputStream.use { it.write(stdin.toByteArray()) }
    val out = p.inputStream.bufferedReader().readText()
    val err = p.errorStream.bufferedReader().readText()
    check(p.waitFor(60, TimeUnit.SECONDS), "${cmd[0]} timed out")
    return Run(p.exitValue(), out, err)
}

fun env(name: String): String = System.getenv(name) ?: throw IllegalStateException("$name is not set")

val work = File(env("GOVID_WORK"))
val issuerDir = File(work, "hr")
val issuerJwk by lazy { File(issuerDir, "issuer.jwk").readText().trim() }

fun hrIssue(code: String, proof: String, command: String = "issue"): String {
    val r = run(env("GOVID_TEST_ISSUER"), command, issuerDir.path, code, proof)
    check(r.code == 0, "test_issuer $command failed: ${r.err}")
    return r.out.trim()
}

/** HR's gate pass for the same key and status entry as the worker ID. */
fun hrIssueGatePass(code: String, proof: String): String = hrIssue(code, proof, "issue-gate-pass")

fun gateChallenge(claims: List<String>): String {
    val r = run(env("GOVID_TEST_ISSUER"), "challenge", GATE, *claims.toTypedArray())
    check(r.code == 0, "test_issuer challenge failed: ${r.err}")
    return r.out.trim()
}

/**
 * `govid-verifier check` on the scanned QR payload, as a gate does: exit code and stdout
 * (payload JSON) or stderr (`rule: message`).
 */
fun gateCheck(p: Presentation, vararg extra: String): Run =
    run(env("GOVID_VERIFIER"), "check", "--issuer-jwk", File(issuerDir, "issuer.jwk").path,
        "--sd-jwt-vc", "--require-kb", *extra, stdin = p.payload)

/** A wallet in a fresh directory with one enrolled, accepted credential. */
class Enrolled(val ks: KeyStore, name: String) {
    val wallet = Wallet.open(File(work, "wallet-$name").path, ks)
    val credential: CredentialSummary
    val code = "ENR-$name-${System.nanoTime()}"
    val request: EnrollmentRequest

    init {
        wallet.trustIssuer(issuerJwk, ISSUER_ID)
        request = wallet.enroll(code, ISSUER_ID, KeyAlgorithm.ES256)
        credential = wallet.acceptCredential(hrIssue(code, request.keyProof))
    }
}

/** The QR version of a payload at ECC M, from the width in the PNG header (1 px per module). */
fun qrVersion(payload: String): Int {
    val png = qrPng(payload, 1u, QrEcc.M)
    val side = java.nio.ByteBuffer.wrap(png, 16, 4).int   // IHDR width: modules + 2 × 4 quiet zone
    return (side - 8 - 17) / 4
}

fun jwtPart(jwt: String, i: Int): String =
    String(Base64.getUrlDecoder().decode(jwt.split('.')[i]))

// ---- the tests -------------------------------------------------------------------------------

fun tests() {
    check(run(env("GOVID_TEST_ISSUER"), "init", issuerDir.path).code == 0, "test_issuer init")
    val ks = JcaKeyStore()
    lateinit var main: Enrolled

    test("enroll makes an openid4vci-proof+jwt signed by the Kotlin key store") {
        val wallet = Wallet.open(File(work, "wallet-enroll").path, ks)
        val req = wallet.enroll("CODE-1234", ISSUER_ID, KeyAlgorithm.ES256)
        val header = jwtPart(req.keyProof, 0)
        val payload = jwtPart(req.keyProof, 1)
        check(header.contains("\"typ\":\"openid4vci-proof+jwt\""), header)
        check(header.contains("\"alg\":\"ES256\""), header)
        check(header.contains(req.holderJwk.substringAfter("\"x\":").substringBefore(",")), header)
        check(payload.contains("\"nonce\":\"CODE-1234\""), payload)
        check(payload.contains("\"aud\":\"$ISSUER_ID\""), payload)
        check(ks.keys.containsKey(req.keyAlias), "key made in the Kotlin key store")
        expectThrows<WalletException.InvalidInput>("empty code") {
            wallet.enroll("  ", ISSUER_ID, KeyAlgorithm.ES256)
        }
        wallet.close()
    }

    test("accept a credential HR issued for the enrolled key; list shows it") {
        main = Enrolled(ks, "main")
        val c = main.credential
        check(c.givenName == "Amira" && c.familyName == "Haddad", "$c")
        check(c.organizationCode == "MOT" && c.position == "Senior Inspector", "$c")
        check(!c.expired && c.status == CredentialStatus.Unknown, "$c")
        check(c.hasStatusList && c.keyAlgorithm == KeyAlgorithm.ES256, "$c")
        val list = main.wallet.listCredentials()
        check(list.size == 1 && list[0].id == c.id, "$list")
        // Accepting the same credential again is idempotent.
        check(main.wallet.credential(c.id) == c, "credential(id)")
    }

    test("rotating entry code verifies at the gate and discloses only the entry claims") {
        val p = main.wallet.presentRotating(main.credential.id, GATE, GateProfileKind.ENTRY)
        check(p.payload.startsWith("GV1:"), p.payload.take(8))
        check(p.refreshAfterSeconds == defaultRotationSeconds() && defaultRotationSeconds() == 20u, "rotation")
        val r = gateCheck(p, "--aud", GATE)
        check(r.code == 0, "gate refused: ${r.err}")
        check(r.out.contains("\"given_name\":\"Amira\""), r.out)
        check(!r.out.contains("Senior Inspector") && !r.out.contains("E-10442"), "over-disclosure: ${r.out}")
        val q = main.wallet.presentRotating(main.credential.id, GATE, GateProfileKind.ENTRY)
        check(q.nonce != p.nonce && q.payload != p.payload, "fresh nonce each call")
    }

    test("claim selection with a given nonce; the gate checks nonce and audience") {
        val p = main.wallet.present(main.credential.id, GATE, "n-0123456789abcdef",
            ClaimSelection.Claims(listOf("given_name", "position", "access_zones/*")))
        val ok = gateCheck(p, "--aud", GATE, "--nonce", "n-0123456789abcdef")
        check(ok.code == 0, ok.err)
        check(ok.out.contains("Senior Inspector") && ok.out.contains("DEPOT-3"), ok.out)
        check(!ok.out.contains("Haddad"), "family_name not selected")
        val badNonce = gateCheck(p, "--aud", GATE, "--nonce", "other-nonce-0000000")
        check(badNonce.code == 1 && badNonce.err.startsWith("kb_nonce"), badNonce.err)
        val badAud = gateCheck(p, "--aud", "https://elsewhere.example")
        check(badAud.code == 1 && badAud.err.startsWith("kb_aud"), badAud.err)
        expectThrows<WalletException.MissingClaim>("no such claim") {
            main.wallet.present(main.credential.id, GATE, "n-0123456789abcdef",
                ClaimSelection.Claims(listOf("clearance")))
        }
        expectThrows<WalletException.InvalidInput>("bad path") {
            main.wallet.present(main.credential.id, GATE, "n", ClaimSelection.Claims(listOf("a//b")))
        }
    }

    test("counter profile discloses position and employee number") {
        val p = main.wallet.present(main.credential.id, GATE, "nonce-counter-0001",
            ClaimSelection.Profile(GateProfileKind.COUNTER))
        val r = gateCheck(p, "--aud", GATE, "--nonce", "nonce-counter-0001")
        check(r.code == 0 && r.out.contains("E-10442") && r.out.contains("Senior Inspector"), r.err + r.out)
    }

    test("challenge mode: answer a scanned GVC1 challenge bound to its nonce") {
        val challenge = gateChallenge(listOf("given_name", "organization/code"))
        val req = main.wallet.readChallenge(challenge)
        check(req.aud == GATE && req.claims == listOf("given_name", "organization/code"), "$req")
        val p = main.wallet.presentForChallenge(main.credential.id, challenge)
        val nonce = Regex("\"nonce\":\"([^\"]+)\"").find(jwtPart(p.presentation.substringAfterLast('~'), 1))!!.groupValues[1]
        check(nonce == p.nonce, "nonce in KB-JWT")
        // `--nonce=`: a random nonce may start with "-", which a separate argument would turn into a flag.
        val r = gateCheck(p, "--aud", GATE, "--nonce=$nonce")
        check(r.code == 0 && r.out.contains("MOT") && !r.out.contains("Amira\",\"family"), r.err)
        expectThrows<WalletException.InvalidChallenge>("garbage challenge") {
            main.wallet.readChallenge("GVC1:NOT-A-CHALLENGE")
        }
    }

    test("QR rendering: PNG and SVG") {
        val p = main.wallet.presentRotating(main.credential.id, GATE, GateProfileKind.ENTRY)
        val png = qrPng(p.payload, 8u, QrEcc.M)
        check(png.size > 100 && png[1] == 'P'.code.toByte() && png[2] == 'N'.code.toByte(), "PNG magic")
        File(work, "gate-code.png").writeBytes(png)
        val svg = qrSvg(p.payload, QrEcc.M)
        check(svg.contains("<svg"), svg.take(60))
        expectThrows<WalletException.Qr>("too large for a QR code") {
            qrPng("A".repeat(5000), 8u, QrEcc.H)
        }
    }

    test("a DER-signing key store (Android/iOS default) is converted and verifies") {
        val der = Enrolled(JcaKeyStore(Mode.DER), "der")
        val p = der.wallet.presentRotating(der.credential.id, GATE, GateProfileKind.ENTRY)
        val r = gateCheck(p, "--aud", GATE)
        check(r.code == 0, r.err)
    }

    test("key store failures come back typed") {
        val bad = JcaKeyStore()
        val e = Enrolled(bad, "bad")
        bad.mode = Mode.GARBAGE
        val garbage = expectThrows<WalletException.KeyStore>("garbage signature") {
            e.wallet.presentRotating(e.credential.id, GATE, GateProfileKind.ENTRY)
        }
        check(garbage.kind == KeyStoreFailure.BAD_OUTPUT, "${garbage.kind}")
        bad.mode = Mode.CANCEL
        val cancel = expectThrows<WalletException.KeyStore>("user cancelled") {
            e.wallet.presentRotating(e.credential.id, GATE, GateProfileKind.ENTRY)
        }
        check(cancel.kind == KeyStoreFailure.USER_CANCELLED, "${cancel.kind}")
        bad.mode = Mode.CRASH
        val crash = expectThrows<WalletException.KeyStore>("key store threw a RuntimeException") {
            e.wallet.presentRotating(e.credential.id, GATE, GateProfileKind.ENTRY)
        }
        check(crash.kind == KeyStoreFailure.FAILED, "${crash.kind}")
        bad.mode = Mode.RAW
        e.wallet.presentRotating(e.credential.id, GATE, GateProfileKind.ENTRY)
    }

    test("credentials are refused from untrusted issuers, for keys not held, and when tampered") {
        val other = Wallet.open(File(work, "wallet-untrusted").path, JcaKeyStore())
        val req = other.enroll("CODE-U", ISSUER_ID, KeyAlgorithm.ES256)
        val issued = hrIssue("CODE-U", req.keyProof)
        val untrusted = expectThrows<WalletException.InvalidCredential>("untrusted") {
            other.acceptCredential(issued)
        }
        check(untrusted.rule == "untrusted_issuer", untrusted.rule)
        // The refusal names the issuer and key the credential claims, so the developer sees whom to trust.
        check(untrusted.reason == "issuer: issuer is not trusted: the credential has `iss` \"$ISSUER_ID\" and " +
            "`kid` \"$ISSUER_ID#key-1\"; trust the keys this issuer publishes (its JWK Set or DID document) first",
            untrusted.reason)
        check(untrusted.toString() == "credential refused (untrusted_issuer): ${untrusted.reason}", "$untrusted")
        // main's wallet trusts HR but does not hold this credential's key.
        val notHeld = expectThrows<WalletException.InvalidCredential>("not held") {
            main.wallet.acceptCredential(issued)
        }
        check(notHeld.rule == "holder_key_not_held", notHeld.rule)
        other.trustIssuer(issuerJwk, ISSUER_ID)
        val parts = issued.split('~')
        val tampered = (listOf(parts[0].dropLast(4) + "AAAA") + parts.drop(1)).joinToString("~")
        val bad = expectThrows<WalletException.InvalidCredential>("tampered") {
            other.acceptCredential(tampered)
        }
        check(bad.rule == "bad_signature", bad.rule)
        val f = File(work, "credential.txt").apply { writeText(issued) }
        check(other.acceptCredentialFile(f.path).givenName == "Amira", "from file")
        expectThrows<WalletException.NotFound>("unknown id") { other.credential("nope") }
        other.close()
    }

    test("the software key store from Kotlin: encrypted, passphrase-checked") {
        val dir = File(work, "softkeys").path
        val soft = SoftwareKeyStore.open(dir, "correct horse battery staple")
        val e = Enrolled(soft.asKeyStore(), "soft")
        val p = e.wallet.presentRotating(e.credential.id, GATE, GateProfileKind.ENTRY)
        check(gateCheck(p, "--aud", GATE).code == 0, "soft key presentation verifies")
        check(soft.aliases().size == 1, "one key")
        val wrong = expectThrows<KeyStoreException.WrongPassphrase>("wrong passphrase") {
            SoftwareKeyStore.open(dir, "wrong")
        }
        // uniffi's `message` is built from the fields: not empty, and says what happened.
        check(wrong.message == "reason=wrong passphrase for the software key store", "message: ${wrong.message}")
        check(wrong.toString() == "wrong passphrase for the software key store", "toString: $wrong")
        // Deleting the credential deletes its now unused key.
        check(e.wallet.deleteCredential(e.credential.id), "deleted")
        check(soft.aliases().isEmpty(), "key deleted with its credential")
    }

    test("a did:web issuer is trusted from HR's published jwks.json, each key with its DID URL kid") {
        val wallet = Wallet.open(File(work, "wallet-jwks").path, JcaKeyStore())
        val pinned = wallet.trustIssuerJwks(File(issuerDir, "jwks.json").readText(), ISSUER_ID)
        check(pinned.map { it.kid } == listOf("$ISSUER_ID#key-1"), "$pinned")
        check(pinned.single().issuer == ISSUER_ID, "pinned for HR's DID")
        val req = wallet.enroll("CODE-JWKS", ISSUER_ID, KeyAlgorithm.ES256)
        check(wallet.acceptCredential(hrIssue("CODE-JWKS", req.keyProof)).givenName == "Amira", "accepted")
        val empty = expectThrows<WalletException.InvalidInput>("a JWK Set without keys") {
            wallet.trustIssuerJwks("""{"keys": []}""", ISSUER_ID)
        }
        check(empty.reason == "issuer JWK Set: the JWK Set's `keys` is not a non-empty array", empty.reason)
        check(wallet.trustedIssuers() == pinned, "a refused set changes nothing")
        wallet.close()
    }

    test("a did:web issuer is trusted from its DID document; another DID's document is refused") {
        val wallet = Wallet.open(File(work, "wallet-did-web").path, JcaKeyStore())
        val document = File(issuerDir, "did.json").readText()
        val pinned = wallet.trustIssuerDidDocument(ISSUER_ID, document)
        check(pinned.map { it.kid } == listOf("$ISSUER_ID#key-1"), "$pinned")
        val req = wallet.enroll("CODE-DIDWEB", ISSUER_ID, KeyAlgorithm.ES256)
        check(wallet.acceptCredential(hrIssue("CODE-DIDWEB", req.keyProof)).issuer == ISSUER_ID, "accepted")
        val other = "did:web:other.govid.example"
        val mismatch = expectThrows<WalletException.InvalidInput>("a document whose id is another DID") {
            wallet.trustIssuerDidDocument(other, document)
        }
        check(mismatch.reason == "the DID document's `id` is not $other: it is another issuer's document", mismatch.reason)
        wallet.close()
    }

    test("enroll from HR's scanned GVE1 offer") {
        val wallet = Wallet.open(File(work, "wallet-offer").path, JcaKeyStore())
        wallet.trustIssuer(issuerJwk, ISSUER_ID)
        val code = "K7QM-3XTR-9D2F-HB6W-0PNA-V4YE-ZC8G"
        val req = wallet.enrollFromOffer("GVE1:$code:$ISSUER_ID", KeyAlgorithm.ES256)
        check(req.issuerId == ISSUER_ID, req.issuerId)
        check(jwtPart(req.keyProof, 1).contains("\"nonce\":\"$code\""), "nonce is the code")
        check(wallet.acceptCredential(hrIssue(code, req.keyProof)).givenName == "Amira", "issued")
        expectThrows<WalletException.InvalidInput>("not an offer") {
            wallet.enrollFromOffer("GVE1:short:$ISSUER_ID", KeyAlgorithm.ES256)
        }
        wallet.close()
    }

    test("status: a verified Status List Token marks the ID revoked or suspended") {
        fun token(value: Int): String {
            val r = run(env("GOVID_TEST_ISSUER"), "status", issuerDir.path, value.toString())
            check(r.code == 0, r.err)
            return r.out.trim()
        }
        val e = Enrolled(JcaKeyStore(), "status")
        check(e.credential.statusListUri == "https://hr.test.govid.example/status/1", "${e.credential.statusListUri}")
        check(e.wallet.refreshStatus(e.credential.id, token(0)).status == CredentialStatus.Valid, "valid")
        check(e.wallet.refreshStatus(e.credential.id, token(2)).status == CredentialStatus.Suspended, "suspended")
        val revoked = e.wallet.refreshStatus(e.credential.id, token(1))
        check(revoked.status == CredentialStatus.Revoked && revoked.statusCheckedAt != null, "$revoked")
        check(e.wallet.listCredentials()[0].status == CredentialStatus.Revoked, "listed as revoked")
        // The gate, given the same token, denies it.
        val tokenFile = File(work, "status-revoked.jwt").apply { writeText(token(1)) }
        val p = e.wallet.presentRotating(e.credential.id, GATE, GateProfileKind.ENTRY)
        val denied = gateCheck(p, "--aud", GATE, "--status-token", tokenFile.path)
        check(denied.code == 1 && denied.err.startsWith("revoked"), denied.err)
        val bad = expectThrows<WalletException.InvalidStatusList>("tampered token") {
            e.wallet.refreshStatus(e.credential.id, token(0).dropLast(3) + "AAA")
        }
        check(bad.rule.startsWith("status_token"), bad.rule)
    }

    test("gate pass: accepted beside the worker ID, shown for entry in a smaller QR code") {
        val e = Enrolled(JcaKeyStore(), "gatepass")
        check(e.credential.kind == CredentialKind.WORKER_ID, "${e.credential.kind}")
        val passFile = File(work, "gate-pass.sd-jwt").apply { writeText(hrIssueGatePass(e.code, e.request.keyProof)) }
        val pass = e.wallet.acceptCredentialFile(passFile.path)
        check(pass.kind == CredentialKind.GATE_PASS, "${pass.kind}")
        check(pass.givenName == "Amira" && pass.organizationCode == "MOT", "$pass")
        check(pass.position == null && pass.employeeNumber == null, "a pass has no position: $pass")
        check(pass.statusListUri == e.credential.statusListUri, "same status entry")
        // Both received in the same second: listed in id order, so compare as a map.
        check(e.wallet.listCredentials().associate { it.id to it.kind } ==
            mapOf(e.credential.id to CredentialKind.WORKER_ID, pass.id to CredentialKind.GATE_PASS),
            "listed with their kinds")

        // Rotating entry code from the worker ID's id: the wallet shows the gate pass.
        val best = e.wallet.presentRotatingBest(e.credential.id, GATE, GateProfileKind.ENTRY)
        check(best.kind == CredentialKind.GATE_PASS && best.credentialId == pass.id, "$best")
        val r = gateCheck(best, "--aud", GATE)
        check(r.code == 0, "gate refused the pass: ${r.err}")
        check(r.out.contains("worker-gate-pass/v1") && r.out.contains("\"given_name\":\"Amira\""), r.out)
        // By id it is still the worker ID, in a bigger code.
        val byId = e.wallet.presentRotating(e.credential.id, GATE, GateProfileKind.ENTRY)
        check(byId.kind == CredentialKind.WORKER_ID && byId.credentialId == e.credential.id, "$byId")
        check(best.payload.length < byId.payload.length, "${best.payload.length} < ${byId.payload.length}")
        val (passVersion, idVersion) = qrVersion(best.payload) to qrVersion(byId.payload)
        println("     entry QR at ECC M: gate pass version $passVersion, worker ID version $idVersion")
        check(passVersion < idVersion, "gate pass QR v$passVersion, worker ID v$idVersion")

        // With a nonce, and for a challenge; the counter profile needs the worker ID.
        val entry = ClaimSelection.Profile(GateProfileKind.ENTRY)
        check(e.wallet.bestCredential(e.credential.id, entry).id == pass.id, "bestCredential")
        val p = e.wallet.presentBest(e.credential.id, GATE, "nonce-best-000001", entry)
        check(p.kind == CredentialKind.GATE_PASS, "$p")
        check(gateCheck(p, "--aud", GATE, "--nonce", "nonce-best-000001").code == 0, "nonce entry")
        val challenge = gateChallenge(listOf("given_name", "family_name", "organization/name", "organization/code"))
        val c = e.wallet.presentForChallengeBest(e.credential.id, challenge)
        check(c.kind == CredentialKind.GATE_PASS && gateCheck(c, "--aud", GATE, "--nonce=${c.nonce}").code == 0, "challenge")
        val counter = e.wallet.presentBest(pass.id, GATE, "nonce-best-000002",
            ClaimSelection.Profile(GateProfileKind.COUNTER))
        check(counter.kind == CredentialKind.WORKER_ID && counter.credentialId == e.credential.id, "$counter")
        check(gateCheck(counter, "--aud", GATE, "--nonce", "nonce-best-000002").out.contains("E-10442"), "counter")
    }

    test("a credential of another type is refused with not_worker_id") {
        val e = Enrolled(JcaKeyStore(), "vct")
        val r = run(env("GOVID_TEST_ISSUER"), "issue-other-vct", issuerDir.path, e.code, e.request.keyProof)
        check(r.code == 0, r.err)
        val refused = expectThrows<WalletException.InvalidCredential>("another vct") {
            e.wallet.acceptCredential(r.out.trim())
        }
        check(refused.rule == "not_worker_id", refused.rule)
        check(e.wallet.listCredentials().size == 1, "nothing stored")
    }

    test("calls from many threads at once") {
        val pool = Executors.newFixedThreadPool(8)
        val futures = (1..64).map {
            pool.submit<String> {
                main.wallet.presentRotating(main.credential.id, GATE, GateProfileKind.ENTRY).nonce
            }
        }
        val nonces = futures.map { it.get(60, TimeUnit.SECONDS) }.toSet()
        pool.shutdown()
        check(nonces.size == 64, "64 distinct presentations")
    }

    receiveOfferTests()

    test("the wallet reopens with its credentials") {
        main.wallet.close()
        val again = Wallet.open(File(work, "wallet-main").path, ks)
        val p = again.presentRotating(main.credential.id, GATE, GateProfileKind.ENTRY)
        check(gateCheck(p, "--aud", GATE).code == 0, "after reopen")
        again.close()
    }
}

/** µs per call: the best of 5 batches of n/5 calls after 200 warm-up calls. */
fun timeBest(n: Int, call: () -> Unit): Double {
    repeat(200) { call() }
    val batch = maxOf(n / 5, 1)
    return (1..5).minOf {
        val t0 = System.nanoTime()
        repeat(batch) { call() }
        (System.nanoTime() - t0) / 1000.0 / batch
    }
}

fun bench(n: Int) {
    issuerDir.mkdirs()
    check(run(env("GOVID_TEST_ISSUER"), "init", issuerDir.path).code == 0, "test_issuer init")
    val soft = SoftwareKeyStore.open(File(work, "bench-keys").path, "bench")
    val e = Enrolled(soft.asKeyStore(), "bench")
    val us = timeBest(n) { e.wallet.presentRotating(e.credential.id, GATE, GateProfileKind.ENTRY) }
    println("kotlin present_rotating (software key store, ES256): %.1f us/call (best of 5 x %d calls)".format(us, n / 5))
    val jca = Enrolled(JcaKeyStore(), "bench-jca")
    val usJca = timeBest(n) { jca.wallet.presentRotating(jca.credential.id, GATE, GateProfileKind.ENTRY) }
    println("kotlin present_rotating (Kotlin JCA key store, ES256): %.1f us/call (best of 5 x %d calls)".format(usJca, n / 5))
}

fun main(args: Array<String>) {
    work.mkdirs()
    if (args.isNotEmpty() && args[0] == "bench") {
        bench(args.getOrNull(1)?.toInt() ?: 1000)
        return
    }
    tests()
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}

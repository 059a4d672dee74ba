// OpenID4VCI from Kotlin: `Wallet.receiveOffer` with the app's HTTP stack as a Kotlin
// `HttpClient` on `java.net.http` (as an Android app would plug in OkHttp), against the
// third-party issuer tests/interop/oid4vci/issuer.mjs (@openid4vc/openid4vci 0.4.6). Run from
// the repository root by mobile-bindings/test.sh (node and that folder's node_modules needed).

import example.govid.wallet.*
import java.io.File
import java.net.URI
import java.time.Duration
import java.util.concurrent.TimeUnit

/** The app's HTTP stack: java.net.http, no proxy, bodies capped at the library's limit. */
class JavaHttp : HttpClient {
    private val client: java.net.http.HttpClient = java.net.http.HttpClient.newBuilder()
        .proxy(java.net.http.HttpClient.Builder.NO_PROXY)
        .connectTimeout(Duration.ofSeconds(10))
        .build()
    val urls = mutableListOf<String>()

    override fun `send`(`request`: HttpRequest): HttpResponse {
        urls.add(request.url)
        val body = if (request.method == "GET") {
            java.net.http.HttpRequest.BodyPublishers.noBody()
        } else {
            java.net.http.HttpRequest.BodyPublishers.ofByteArray(request.body)
        }
        val builder = java.net.http.HttpRequest.newBuilder(URI(request.url))
            .timeout(Duration.ofSeconds(30))
            .method(request.method, body)
        // java.net.http sets these itself and refuses them from the caller.
        val restricted = setOf("host", "content-length", "connection", "expect", "upgrade")
        for (h in request.headers) {
            if (h.name.lowercase() !in restricted) builder.header(h.name, h.value)
        }
        val response = try {
            client.send(builder.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray())
        } catch (e: java.io.IOException) {
            throw HttpException.Network(e.toString())
        }
        val bytes = response.body()
        if (bytes.size.toULong() > maxHttpResponseBytes()) {
            throw HttpException.Network("response larger than the library's limit")
        }
        val headers = response.headers().map().flatMap { (name, values) ->
            values.map { HttpHeader(name, it) }
        }
        return HttpResponse(response.statusCode().toUShort(), headers, bytes)
    }
}

/** issuer.mjs with `offers` offers: its base URL, its JWKS file and the offers (link, PIN). */
class ThirdPartyIssuer(offers: Int) {
    private val dir = File("tests/interop/oid4vci")
    private val jwksFile = File(work, "oid4vci-issuer-jwks.json")
    private val process: Process
    val base: String
    val offers: MutableList<Pair<String, String>> = mutableListOf()

    init {
        check(File(dir, "node_modules").isDirectory, "npm ci in tests/interop/oid4vci first")
        process = ProcessBuilder(
            "node", "issuer.mjs", "--port", "0",
            "--vct", "https://govid.example/vct/worker-id/v1",
            "--gate-pass-vct", "https://govid.example/vct/worker-gate-pass/v1",
            "--jwk-out", jwksFile.path, "--offers", offers.toString(),
        ).directory(dir).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val lines = process.inputStream.bufferedReader()
        val first = lines.readLine() ?: throw AssertionError("issuer.mjs did not start")
        check(first.startsWith("listening on "), first)
        base = "http://" + first.removePrefix("listening on ").trim()
        repeat(offers) {
            val line = lines.readLine() ?: throw AssertionError("issuer.mjs printed no offer")
            val uri = Regex("\"offer_uri\":\\s*\"([^\"]+)\"").find(line)?.groupValues?.get(1)
            val pin = Regex("\"tx_code\":\\s*\"([0-9]+)\"").find(line)?.groupValues?.get(1)
            check(uri != null && pin != null, "offer line: $line")
            this.offers.add(uri!! to pin!!)
        }
        // Later lines (notifications) are read and dropped so the pipe never fills.
        Thread { lines.forEachLine { } }.apply { isDaemon = true }.start()
    }

    fun jwks(): String = jwksFile.readText()

    fun stop() {
        process.destroy()
        process.waitFor(10, TimeUnit.SECONDS)
    }
}

fun receiveOfferTests() {
    val issuer = ThirdPartyIssuer(2)
    try {
        test("receiveOffer over java.net.http stores the worker ID and the gate pass") {
            val ks = JcaKeyStore()
            val wallet = Wallet.open(File(work, "wallet-oid4vci").path, ks)
            wallet.trustIssuerJwks(issuer.jwks(), issuer.base)
            val (offer, pin) = issuer.offers[0]
            val http = JavaHttp()
            val got = wallet.receiveOffer(offer, pin, http)
            check(got.issuer == issuer.base, "issuer ${got.issuer}")
            check(got.credentials.map { it.kind } == listOf(CredentialKind.WORKER_ID, CredentialKind.GATE_PASS),
                "${got.credentials.map { it.kind }}")
            val worker = got.credentials[0]
            check(worker.givenName == "Amira" && worker.employeeNumber == "MOT-0001", "$worker")
            check(wallet.listCredentials().size == 2, "both stored")
            check(http.urls.any { it.endsWith("/token") } && http.urls.count { it.endsWith("/credential") } == 2,
                "${http.urls}")
            // A rotating entry code from what arrived, as the gate checks it.
            val best = wallet.presentRotatingBest(worker.id, GATE, GateProfileKind.ENTRY)
            check(best.kind == CredentialKind.GATE_PASS, "${best.kind}")
            wallet.close()
        }

        test("receiveOffer with a wrong PIN is WrongTxCode and the offer survives it") {
            val wallet = Wallet.open(File(work, "wallet-oid4vci-pin").path, JcaKeyStore())
            wallet.trustIssuerJwks(issuer.jwks(), issuer.base)
            val (offer, pin) = issuer.offers[1]
            val wrong = pin.dropLast(1) + ((pin.last() - '0' + 1) % 10).toString()
            val e = expectThrows<WalletException.WrongTxCode>("wrong PIN") {
                wallet.receiveOffer(offer, wrong, JavaHttp())
            }
            check(!e.toString().contains(pin) && !e.toString().contains(wrong), "no PIN in the error: $e")
            check(wallet.listCredentials().isEmpty(), "nothing stored")
            check(wallet.receiveOffer(offer, pin, JavaHttp()).credentials.size == 2, "the right PIN then")
            expectThrows<WalletException.OfferExpired>("used offer") {
                wallet.receiveOffer(offer, pin, JavaHttp())
            }
            wallet.close()
        }

        test("receiveOffer with the network down is Network, naming no secret") {
            val wallet = Wallet.open(File(work, "wallet-oid4vci-down").path, JcaKeyStore())
            val offline = object : HttpClient {
                override fun `send`(`request`: HttpRequest): HttpResponse =
                    throw HttpException.Network("no route to host")
            }
            expectThrows<WalletException.Network>("offline") {
                wallet.receiveOffer(issuer.offers[0].first, "000000", offline)
            }
            wallet.close()
        }
    } finally {
        issuer.stop()
    }
}

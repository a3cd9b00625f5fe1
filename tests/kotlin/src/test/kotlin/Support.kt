// What the Kotlin binding tests share: the app's secure storage played by a map, the sandbox's
// development endpoints, a Bluetooth link over loopback TCP to the simulated reader, a step
// recorder, and a merchant ready to sell.

import java.net.HttpURLConnection
import java.net.Socket
import java.net.URI
import java.nio.file.Files
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import kotlin.concurrent.thread
import kotlin.random.Random
import uniffi.starpos.BleDevice
import uniffi.starpos.BleLink
import uniffi.starpos.CardReader
import uniffi.starpos.LinkEvents
import uniffi.starpos.SaleListener
import uniffi.starpos.SaleStep
import uniffi.starpos.SecureStore
import uniffi.starpos.StarPos
import uniffi.starpos.StarPosConfig

const val SERIAL = "SP100-000123"
const val PASSWORD = "Kt2026test"

/** The app's Keystore-backed storage, played by a map in memory. */
class MapStore : SecureStore {
    val values = ConcurrentHashMap<String, ByteArray>()
    override fun get(key: String): ByteArray? = values[key]
    override fun put(key: String, value: ByteArray) { values[key] = value }
    override fun delete(key: String) { values.remove(key) }
}

/** The sandbox's development endpoints (reading the SMS a real platform would text). */
object Dev {
    val base: String = (System.getenv("STARPOS_SANDBOX_URL")
        ?: error("STARPOS_SANDBOX_URL is not set: run through `cargo xtask test`")).trimEnd('/')

    private fun call(path: String, body: String? = null): String {
        val c = URI(base + path).toURL().openConnection() as HttpURLConnection
        if (body != null) {
            c.requestMethod = "POST"
            c.doOutput = true
            c.setRequestProperty("content-type", "application/json")
            c.outputStream.use { it.write(body.toByteArray()) }
        }
        return c.inputStream.use { String(it.readAllBytes()) }
    }

    private fun field(json: String, name: String): String =
        Regex("\"$name\"\\s*:\\s*\"?([^\",}]*)").find(json)?.groupValues?.get(1) ?: error("no $name in $json")

    fun smsCode(phone: String, purpose: String) = field(call("/dev/sms?phone=$phone&purpose=$purpose"), "code")
    fun expireAccess(phone: String) = call("/dev/sessions/expire-access", "{\"phone\":\"$phone\"}")
    fun refreshes(phone: String) = field(call("/dev/stats?phone=$phone"), "refreshes").toInt()
    fun setFaults(json: String = "{}") = call("/dev/faults", json)
    fun paymentStatus(key: String) = field(call("/dev/payments/$key"), "status")
    fun paymentField(key: String, name: String) = field(call("/dev/payments/$key"), name)
    /// A merchant ready to sell: registered with `device` bound, real-name details accepted, the
    /// registry's test card bound for settlement (`POST /dev/merchants/ready`).
    fun readyMerchant(phone: String, password: String, device: String) =
        call("/dev/merchants/ready", "{\"phone\":\"$phone\",\"password\":\"$password\",\"device_id\":\"$device\"}")
    /// Moves the platform's clock forward (review times, lifetimes) without sleeping.
    fun advanceClock(secs: Int) = call("/dev/clock/advance", "{\"secs\":$secs}")
    /// The shop takes the shared simulated reader back from whichever merchant had it.
    fun takeReaderBack(serial: String = SERIAL) = call("/dev/readers/take-back", "{\"serial\":\"$serial\"}")
    /// The customer's wallet scans a QR the phone shows and pays it; the order's status after.
    fun customerScans(payload: String, wallet: String): String {
        val quoted = payload.replace("\\", "\\\\").replace("\"", "\\\"")
        return field(call("/dev/qr/scan", "{\"payload\":\"$quoted\",\"wallet\":\"$wallet\"}"), "status")
    }
    /// Cross-province settings of a merchant, e.g. `"review_secs":1`.
    fun crossProvince(phone: String, settings: String) = call("/dev/cross-province", "{\"phone\":\"$phone\",$settings}")
}

/** Plays the phone's Bluetooth radio over a socket to the simulated reader. */
class SocketBleLink(private val host: String, private val port: Int, private val mtu: Int) : BleLink {
    @Volatile private var socket: Socket? = null
    @Volatile var writes = 0

    override suspend fun scan(timeoutMs: UInt): List<BleDevice> = listOf(BleDevice(SERIAL, "StarPOS-$SERIAL", -60))

    override suspend fun connect(deviceId: String, events: LinkEvents): UShort {
        val s = Socket(host, port)
        socket = s
        thread(isDaemon = true) {
            val buf = ByteArray(4096)
            while (true) {
                val n = try { s.getInputStream().read(buf) } catch (e: Exception) { -1 }
                if (n <= 0) { events.disconnected("socket closed"); break }
                events.received(buf.copyOf(n))
            }
        }
        return mtu.toUShort()
    }

    override suspend fun write(bytes: ByteArray) {
        check(bytes.size <= mtu - 3) { "the core never writes more than MTU - 3 bytes" }
        writes++
        socket!!.getOutputStream().write(bytes)
    }

    override suspend fun disconnect() {
        socket?.close()
    }

    fun drop() { socket?.shutdownInput(); socket?.shutdownOutput() }
}

class StepRecorder : SaleListener {
    val steps: MutableList<SaleStep> = Collections.synchronizedList(mutableListOf())
    override fun onStep(step: SaleStep) { steps.add(step) }
}

/** The simulated reader `cargo xtask test` started: its address and identity key. */
object SimReader {
    private val addr = (System.getenv("STARPOS_READER_ADDR") ?: error("run through `cargo xtask test`")).removePrefix("tcp://")
    val identity: ByteArray = System.getenv("STARPOS_READER_IDENTITY")!!.chunked(2).map { it.toInt(16).toByte() }.toByteArray()

    fun link(mtu: Int = 185): SocketBleLink {
        val (host, port) = addr.split(":").let { it[0] to it[1].toInt() }
        return SocketBleLink(host, port, mtu)
    }

    /**
     * A card reader on `link`, paired for `c`'s merchant (the platform certifies this phone on
     * it) and connected the way the app does: the core finds the pinned key and the certificate.
     */
    suspend fun connected(c: StarPos, link: SocketBleLink = link()): CardReader {
        Dev.takeReaderBack()
        c.readers().pair(SERIAL)
        val reader = CardReader(link)
        c.readers().connect(reader, SERIAL, 500u)
        return reader
    }
}

/** A fresh phone number starting with `prefix` (three digits). */
fun newPhone(prefix: String): String = prefix + (1..8).map { Random.nextInt(10) }.joinToString("")

/** A client for `device`, logged in as a new merchant with `phone`, ready to sell. */
suspend fun readyMerchant(phone: String, device: String): StarPos {
    Dev.readyMerchant(phone, PASSWORD, device)
    val c = StarPos(StarPosConfig(Dev.base + "/", Files.createTempDirectory("starpos-kt-$device").toString(), device), MapStore())
    c.account().login(phone, PASSWORD, null)
    c.merchant().profile()
    c.merchant().settlementCards()
    return c
}

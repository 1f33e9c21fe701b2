import Foundation
import LifeboatCLI

exit(await LifeboatMain.main())

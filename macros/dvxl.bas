Attribute VB_Name = "dvxl_nut"
' dvxl: the five buttons on the cover sheet of master.xlsm (issue #5).
' Each button only hands over to Python through xlwings' RunPython;
' all the work, and every message the user reads, is in dvxl/excel.py.
' Keep this file ASCII: the VBA editor stores source in the ANSI code page.
Option Explicit

' Tong hop: validate and merge the inbox for the period on the cover sheet.
Public Sub TongHop()
    RunPython "import dvxl.excel; dvxl.excel.tong_hop()"
End Sub

' Kiem tra: validate only, then open the validation workbook.
Public Sub KiemTra()
    RunPython "import dvxl.excel; dvxl.excel.kiem_tra()"
End Sub

' Tao mau: make the unit templates for the period on the cover sheet.
Public Sub TaoMau()
    RunPython "import dvxl.excel; dvxl.excel.tao_mau()"
End Sub

' Don doc: refresh the tracking sheet and the reminder list.
Public Sub DonDoc()
    RunPython "import dvxl.excel; dvxl.excel.don_doc()"
End Sub

' Bao cao: write the period report (Word) from the ledger, then open it.
Public Sub BaoCao()
    RunPython "import dvxl.excel; dvxl.excel.bao_cao()"
End Sub

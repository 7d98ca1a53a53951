<?xml version="1.0" encoding="UTF-8"?>
<!--
  define2-1.xsl - renders a CDISC Define-XML 2.1 document (SDTM or ADaM) as one self-contained HTML page.

  XSLT 1.0 only, because that is what web browsers implement: no extension functions (no EXSLT), no
  document(), no disable-output-escaping, no scripts and no external resources (the CSS is inline).
  Every OID-bearing object gets an anchor named by its OID, so every reference is a same-page link.

  Define-XML 2.1 Specification sections rendered:
    2.3  ODM, Study, GlobalVariables, MetaDataVersion    (header: study, data cut, originator)
    5.3.1  def:Standards                                 (standards table)
    5.3.2/3  def:AnnotatedCRF, def:SupplementalDoc       (documents, linked through def:leaf)
    5.3.4  ItemGroupDef (def:Class/def:SubClass, def:Structure, Purpose, keys, def:HasNoData, def:leaf)
    5.3.5/6  def:ValueListDef, def:WhereClauseDef       (value-level metadata, "LBTESTCD EQ ALB")
    5.3.7  ItemDef, ItemRef (Role, Mandatory, KeySequence, MethodOID), def:Origin
    5.3.8  CodeList (CodeListItem, EnumeratedItem, def:ExtendedValue, Alias nci:ExtCodeID, ExternalCodeList)
    5.3.9/10  MethodDef, def:CommentDef                 (methods and comments)
-->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:odm="http://www.cdisc.org/ns/odm/v1.3"
  xmlns:def="http://www.cdisc.org/ns/def/v2.1"
  xmlns:xlink="http://www.w3.org/1999/xlink"
  exclude-result-prefixes="odm def xlink">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:key name="item" match="odm:ItemDef" use="@OID"/>
  <xsl:key name="codelist" match="odm:CodeList" use="@OID"/>
  <xsl:key name="method" match="odm:MethodDef" use="@OID"/>
  <xsl:key name="comment" match="def:CommentDef" use="@OID"/>
  <xsl:key name="whereclause" match="def:WhereClauseDef" use="@OID"/>
  <xsl:key name="leaf" match="def:leaf" use="@ID"/>
  <xsl:key name="standard" match="def:Standard" use="@OID"/>
  <xsl:key name="item-by-valuelist" match="odm:ItemDef" use="def:ValueListRef/@ValueListOID"/>
  <xsl:key name="dataset-itemref" match="odm:ItemGroupDef/odm:ItemRef" use="@ItemOID"/>

  <xsl:variable name="study" select="/odm:ODM/odm:Study[1]"/>
  <xsl:variable name="mdv" select="$study/odm:MetaDataVersion[1]"/>
  <xsl:variable name="internal-codelists" select="$mdv/odm:CodeList[not(odm:ExternalCodeList)]"/>
  <xsl:variable name="external-codelists" select="$mdv/odm:CodeList[odm:ExternalCodeList]"/>
  <xsl:variable name="lower" select="'abcdefghijklmnopqrstuvwxyz'"/>
  <xsl:variable name="upper" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>

  <!-- ===================================================================================== page -->
  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>
          <xsl:value-of select="$study/odm:GlobalVariables/odm:StudyName"/>
          <xsl:text> - </xsl:text>
          <xsl:value-of select="$mdv/@Name"/>
        </title>
        <style>
          <xsl:call-template name="css"/>
        </style>
      </head>
      <body>
        <xsl:call-template name="navigation"/>
        <main>
          <xsl:call-template name="study-header"/>
          <xsl:call-template name="standards"/>
          <xsl:call-template name="documents"/>
          <xsl:call-template name="dataset-contents"/>
          <xsl:apply-templates select="$mdv/odm:ItemGroupDef" mode="section"/>
          <xsl:if test="$mdv/def:ValueListDef">
            <section id="value-level">
              <h2>Value-level metadata</h2>
              <xsl:apply-templates select="$mdv/def:ValueListDef" mode="section"/>
            </section>
          </xsl:if>
          <xsl:if test="$internal-codelists">
            <section id="codelists">
              <h2>Controlled terminology</h2>
              <xsl:apply-templates select="$internal-codelists" mode="section"/>
            </section>
          </xsl:if>
          <xsl:call-template name="external-dictionaries"/>
          <xsl:call-template name="methods"/>
          <xsl:call-template name="comments"/>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="css">
    :root { --line: #c9d1d9; --head: #eef2f6; --accent: #1f4e79; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.45 "Segoe UI", Arial, Helvetica, sans-serif; color: #1b1f23; }
    nav { position: fixed; top: 0; bottom: 0; left: 0; width: 15rem; overflow-y: auto; padding: 1rem;
          background: #f6f8fa; border-right: 1px solid var(--line); font-size: 13px; }
    nav ul { list-style: none; margin: 0; padding-left: 0.8rem; }
    nav > ul { padding-left: 0; }
    nav a { text-decoration: none; }
    main { margin-left: 15rem; padding: 1rem 2rem 4rem; }
    h1 { color: var(--accent); margin: 0 0 0.2rem; }
    h2 { color: var(--accent); border-bottom: 2px solid var(--accent); margin-top: 2.5rem; }
    h3 { margin: 2rem 0 0.4rem; }
    a { color: #0b5cad; }
    table { border-collapse: collapse; margin: 0.4rem 0 1rem; width: 100%; }
    table.facts { width: auto; }
    th, td { border: 1px solid var(--line); padding: 0.25rem 0.45rem; text-align: left; vertical-align: top; }
    th { background: var(--head); }
    table.facts th { width: 12rem; }
    caption { caption-side: top; text-align: left; font-weight: bold; padding: 0.3rem 0; }
    .text { white-space: pre-line; }
    pre { white-space: pre-wrap; margin: 0.2rem 0; font-size: 12px; }
    .oid { color: #57606a; font-size: 12px; }
    .flag { display: inline-block; padding: 0 0.35rem; border-radius: 0.6rem; font-size: 11px;
            background: #fff1c2; border: 1px solid #d4a72c; white-space: nowrap; }
    .nodata { background: #ffe3e3; border-color: #cf222e; }
    .meta { margin: 0.2rem 0 0.6rem; }
    .meta span { margin-right: 1.2rem; }
    .footnote { font-size: 12px; color: #57606a; }
    :target { background: #fffbdd; }
    @media print, (max-width: 60rem) {
      nav { position: static; width: auto; border-right: 0; border-bottom: 1px solid var(--line); }
      main { margin-left: 0; }
    }
  </xsl:template>

  <!-- =============================================================================== navigation -->
  <xsl:template name="navigation">
    <nav aria-label="Contents">
      <ul>
        <li><a href="#study">Study</a></li>
        <li><a href="#standards">Standards</a></li>
        <xsl:if test="$mdv/def:AnnotatedCRF | $mdv/def:SupplementalDoc">
          <li><a href="#documents">Documents</a></li>
        </xsl:if>
        <li>
          <a href="#datasets">Datasets</a>
          <ul>
            <xsl:for-each select="$mdv/odm:ItemGroupDef">
              <li><a href="#{@OID}"><xsl:value-of select="@Name"/></a></li>
            </xsl:for-each>
          </ul>
        </li>
        <xsl:if test="$mdv/def:ValueListDef">
          <li><a href="#value-level">Value-level metadata</a></li>
        </xsl:if>
        <xsl:if test="$internal-codelists">
          <li><a href="#codelists">Controlled terminology</a></li>
        </xsl:if>
        <xsl:if test="$external-codelists">
          <li><a href="#dictionaries">External dictionaries</a></li>
        </xsl:if>
        <xsl:if test="$mdv/odm:MethodDef">
          <li><a href="#methods">Methods</a></li>
        </xsl:if>
        <xsl:if test="$mdv/def:CommentDef">
          <li><a href="#comments">Comments</a></li>
        </xsl:if>
      </ul>
    </nav>
  </xsl:template>

  <!-- ============================================================================ study header -->
  <xsl:template name="study-header">
    <xsl:variable name="odm" select="/odm:ODM"/>
    <xsl:variable name="globals" select="$study/odm:GlobalVariables"/>
    <header id="study">
      <h1><xsl:value-of select="$globals/odm:StudyName"/></h1>
      <p class="text"><xsl:value-of select="$globals/odm:StudyDescription"/></p>
      <table class="facts">
        <tr><th>Protocol</th><td><xsl:value-of select="$globals/odm:ProtocolName"/></td></tr>
        <tr>
          <th>Metadata version</th>
          <td>
            <xsl:value-of select="$mdv/@Name"/>
            <xsl:text> </xsl:text>
            <span class="oid"><xsl:value-of select="$mdv/@OID"/></span>
          </td>
        </tr>
        <xsl:if test="$mdv/@Description">
          <tr><th>Description</th><td class="text"><xsl:value-of select="$mdv/@Description"/></td></tr>
        </xsl:if>
        <tr><th>Define-XML version</th><td><xsl:value-of select="$mdv/@def:DefineVersion"/></td></tr>
        <tr><th>Context</th><td><xsl:value-of select="$odm/@def:Context"/></td></tr>
        <tr><th>Created</th><td><xsl:value-of select="$odm/@CreationDateTime"/></td></tr>
        <xsl:if test="$odm/@AsOfDateTime">
          <tr><th>Data as of</th><td><xsl:value-of select="$odm/@AsOfDateTime"/></td></tr>
        </xsl:if>
        <xsl:if test="$odm/@Originator">
          <tr><th>Originator</th><td><xsl:value-of select="$odm/@Originator"/></td></tr>
        </xsl:if>
        <xsl:if test="$odm/@SourceSystem">
          <tr>
            <th>Source system</th>
            <td>
              <xsl:value-of select="normalize-space(concat($odm/@SourceSystem, ' ', $odm/@SourceSystemVersion))"/>
            </td>
          </tr>
        </xsl:if>
        <tr><th>File OID</th><td><xsl:value-of select="$odm/@FileOID"/></td></tr>
        <xsl:if test="$mdv/@def:CommentOID">
          <tr>
            <th>Comment</th>
            <td><xsl:call-template name="comment-ref"><xsl:with-param name="oid" select="$mdv/@def:CommentOID"/></xsl:call-template></td>
          </tr>
        </xsl:if>
      </table>
    </header>
  </xsl:template>

  <!-- =============================================================================== standards -->
  <xsl:template name="standards">
    <section id="standards">
      <h2>Standards</h2>
      <table>
        <thead>
          <tr><th>Name</th><th>Type</th><th>Publishing set</th><th>Version</th><th>Status</th><th>Comment</th></tr>
        </thead>
        <tbody>
          <xsl:for-each select="$mdv/def:Standards/def:Standard">
            <tr id="{@OID}">
              <td><xsl:value-of select="@Name"/></td>
              <td><xsl:value-of select="@Type"/></td>
              <td><xsl:value-of select="@PublishingSet"/></td>
              <td><xsl:value-of select="@Version"/></td>
              <td><xsl:value-of select="@Status"/></td>
              <td><xsl:call-template name="comment-ref"><xsl:with-param name="oid" select="@def:CommentOID"/></xsl:call-template></td>
            </tr>
          </xsl:for-each>
        </tbody>
      </table>
    </section>
  </xsl:template>

  <!-- =============================================================================== documents -->
  <xsl:template name="documents">
    <xsl:if test="$mdv/def:AnnotatedCRF | $mdv/def:SupplementalDoc">
      <section id="documents">
        <h2>Documents</h2>
        <xsl:if test="$mdv/def:AnnotatedCRF">
          <h3>Annotated case report form</h3>
          <ul><xsl:for-each select="$mdv/def:AnnotatedCRF/def:DocumentRef"><li><xsl:apply-templates select="."/></li></xsl:for-each></ul>
        </xsl:if>
        <xsl:if test="$mdv/def:SupplementalDoc">
          <h3>Supplemental documents</h3>
          <ul><xsl:for-each select="$mdv/def:SupplementalDoc/def:DocumentRef"><li><xsl:apply-templates select="."/></li></xsl:for-each></ul>
        </xsl:if>
      </section>
    </xsl:if>
  </xsl:template>

  <!-- ======================================================================= dataset contents -->
  <xsl:template name="dataset-contents">
    <section id="datasets">
      <h2>Datasets</h2>
      <table>
        <thead>
          <tr>
            <th>Dataset</th><th>Description</th><th>Class</th><th>Structure</th><th>Purpose</th>
            <th>Keys</th><th>Standard</th><th>Location</th><th>Documentation</th>
          </tr>
        </thead>
        <tbody>
          <xsl:for-each select="$mdv/odm:ItemGroupDef">
            <tr>
              <td>
                <a href="#{@OID}"><xsl:value-of select="@Name"/></a>
                <xsl:call-template name="flags"/>
              </td>
              <td><xsl:call-template name="translated"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template></td>
              <td><xsl:call-template name="dataset-class"/></td>
              <td><xsl:value-of select="@def:Structure"/></td>
              <td><xsl:value-of select="@Purpose"/></td>
              <td><xsl:call-template name="dataset-keys"/></td>
              <td><xsl:call-template name="standard-name"><xsl:with-param name="oid" select="@def:StandardOID"/></xsl:call-template></td>
              <td><xsl:call-template name="dataset-location"/></td>
              <td><xsl:call-template name="comment-ref"><xsl:with-param name="oid" select="@def:CommentOID"/></xsl:call-template></td>
            </tr>
          </xsl:for-each>
        </tbody>
      </table>
    </section>
  </xsl:template>

  <!-- def:Class and its def:SubClass entries, e.g. "BASIC DATA STRUCTURE / TIME-TO-EVENT" -->
  <xsl:template name="dataset-class">
    <xsl:value-of select="def:Class/@Name"/>
    <xsl:for-each select="def:Class/def:SubClass">
      <xsl:text> / </xsl:text>
      <xsl:value-of select="@Name"/>
    </xsl:for-each>
  </xsl:template>

  <!-- Key variables of the ItemGroupDef in KeySequence order -->
  <xsl:template name="dataset-keys">
    <xsl:for-each select="odm:ItemRef[@KeySequence]">
      <xsl:sort select="@KeySequence" data-type="number"/>
      <xsl:if test="position() &gt; 1"><xsl:text>, </xsl:text></xsl:if>
      <xsl:value-of select="key('item', @ItemOID)/@Name"/>
    </xsl:for-each>
  </xsl:template>

  <!-- The dataset file (def:ArchiveLocationID -> def:leaf), or "No data" for def:HasNoData="Yes" -->
  <xsl:template name="dataset-location">
    <xsl:variable name="leaf" select="key('leaf', @def:ArchiveLocationID)"/>
    <xsl:choose>
      <xsl:when test="$leaf">
        <xsl:call-template name="leaf-link"><xsl:with-param name="leaf" select="$leaf"/></xsl:call-template>
      </xsl:when>
      <xsl:when test="@def:HasNoData = 'Yes'">No data</xsl:when>
    </xsl:choose>
  </xsl:template>

  <!-- "No data" and "Non-standard" markers of an ItemGroupDef or ItemRef -->
  <xsl:template name="flags">
    <xsl:if test="@def:HasNoData = 'Yes'">
      <xsl:text> </xsl:text><span class="flag nodata">No data</span>
    </xsl:if>
    <xsl:if test="@def:IsNonStandard = 'Yes'">
      <xsl:text> </xsl:text><span class="flag">Non-standard</span>
    </xsl:if>
  </xsl:template>

  <xsl:template name="standard-name">
    <xsl:param name="oid"/>
    <xsl:for-each select="key('standard', $oid)">
      <a href="#{@OID}"><xsl:value-of select="concat(@Name, ' ', @Version)"/></a>
    </xsl:for-each>
  </xsl:template>

  <!-- ========================================================================= dataset section -->
  <xsl:template match="odm:ItemGroupDef" mode="section">
    <section class="dataset" id="{@OID}">
      <h2>
        <xsl:value-of select="@Name"/>
        <xsl:text> - </xsl:text>
        <xsl:call-template name="translated"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template>
        <xsl:call-template name="flags"/>
      </h2>
      <p class="meta">
        <span><b>Class:</b><xsl:text> </xsl:text><xsl:call-template name="dataset-class"/></span>
        <span><b>Structure:</b><xsl:text> </xsl:text><xsl:value-of select="@def:Structure"/></span>
        <span><b>Purpose:</b><xsl:text> </xsl:text><xsl:value-of select="@Purpose"/></span>
        <span><b>Keys:</b><xsl:text> </xsl:text><xsl:call-template name="dataset-keys"/></span>
        <span><b>Location:</b><xsl:text> </xsl:text><xsl:call-template name="dataset-location"/></span>
        <xsl:if test="@def:StandardOID">
          <span><b>Standard:</b><xsl:text> </xsl:text><xsl:call-template name="standard-name"><xsl:with-param name="oid" select="@def:StandardOID"/></xsl:call-template></span>
        </xsl:if>
      </p>
      <xsl:if test="@def:CommentOID">
        <div class="meta"><b>Comment:</b><xsl:text> </xsl:text><xsl:call-template name="comment-ref"><xsl:with-param name="oid" select="@def:CommentOID"/></xsl:call-template></div>
      </xsl:if>
      <table class="variables">
        <thead>
          <tr>
            <th>Order</th><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Significant digits</th>
            <th>Display format</th><th>Controlled terms or format</th><th>Origin</th><th>Derivation / Comment</th>
            <th>Role</th><th>Mandatory</th><th>Key</th>
          </tr>
        </thead>
        <tbody>
          <xsl:for-each select="odm:ItemRef">
            <xsl:sort select="@OrderNumber" data-type="number"/>
            <xsl:variable name="itemdef" select="key('item', @ItemOID)"/>
            <tr>
              <td><xsl:value-of select="@OrderNumber"/></td>
              <td>
                <xsl:call-template name="item-name"><xsl:with-param name="itemdef" select="$itemdef"/></xsl:call-template>
                <xsl:call-template name="flags"/>
              </td>
              <xsl:call-template name="item-cells"><xsl:with-param name="itemdef" select="$itemdef"/></xsl:call-template>
              <td>
                <xsl:value-of select="@Role"/>
                <xsl:if test="@RoleCodeListOID">
                  <xsl:text> </xsl:text>
                  <xsl:call-template name="codelist-ref"><xsl:with-param name="oid" select="@RoleCodeListOID"/></xsl:call-template>
                </xsl:if>
              </td>
              <td><xsl:value-of select="@Mandatory"/></td>
              <td><xsl:value-of select="@KeySequence"/></td>
            </tr>
          </xsl:for-each>
        </tbody>
      </table>
    </section>
  </xsl:template>

  <!-- Variable name (the ItemOID if the ItemDef is missing) with a link to its value-level metadata -->
  <xsl:template name="item-name">
    <xsl:param name="itemdef"/>
    <xsl:choose>
      <xsl:when test="$itemdef"><xsl:value-of select="$itemdef/@Name"/></xsl:when>
      <xsl:otherwise><span class="oid"><xsl:value-of select="@ItemOID"/></span></xsl:otherwise>
    </xsl:choose>
    <xsl:for-each select="$itemdef/def:ValueListRef">
      <xsl:text> </xsl:text><br/><a href="#{@ValueListOID}">value-level metadata</a>
    </xsl:for-each>
  </xsl:template>

  <!-- The cells shared by the variable and the value-level tables; the context node is the ItemRef:
       Label, Type, Length, Significant digits, Display format, Controlled terms, Origin, Derivation/Comment -->
  <xsl:template name="item-cells">
    <xsl:param name="itemdef"/>
    <td><xsl:call-template name="translated"><xsl:with-param name="node" select="$itemdef/odm:Description"/></xsl:call-template></td>
    <td><xsl:value-of select="$itemdef/@DataType"/></td>
    <td><xsl:value-of select="$itemdef/@Length"/></td>
    <td><xsl:value-of select="$itemdef/@SignificantDigits"/></td>
    <td><xsl:value-of select="$itemdef/@def:DisplayFormat"/></td>
    <td><xsl:call-template name="codelist-ref"><xsl:with-param name="oid" select="$itemdef/odm:CodeListRef/@CodeListOID"/></xsl:call-template></td>
    <td><xsl:apply-templates select="$itemdef/def:Origin"/></td>
    <td>
      <xsl:if test="@MethodOID">
        <xsl:call-template name="method-ref"><xsl:with-param name="oid" select="@MethodOID"/></xsl:call-template>
      </xsl:if>
      <xsl:if test="$itemdef/@def:CommentOID">
        <xsl:call-template name="comment-ref"><xsl:with-param name="oid" select="$itemdef/@def:CommentOID"/></xsl:call-template>
      </xsl:if>
    </td>
  </xsl:template>

  <!-- def:Origin: Type (Source), its description (predecessor, protocol text) and document references -->
  <xsl:template match="def:Origin">
    <div>
      <xsl:value-of select="@Type"/>
      <xsl:if test="@Source">
        <xsl:value-of select="concat(' (', @Source, ')')"/>
      </xsl:if>
      <xsl:if test="odm:Description">
        <xsl:text>: </xsl:text>
        <span class="text"><xsl:call-template name="translated"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template></span>
      </xsl:if>
      <xsl:for-each select="def:DocumentRef">
        <xsl:text> </xsl:text><br/><xsl:apply-templates select="."/>
      </xsl:for-each>
    </div>
  </xsl:template>

  <!-- ================================================================== value-level metadata -->
  <xsl:template match="def:ValueListDef" mode="section">
    <section class="valuelist" id="{@OID}">
      <h3>
        <xsl:text>Value-level metadata for </xsl:text>
        <xsl:call-template name="value-list-parent"/>
        <xsl:text> </xsl:text>
        <span class="oid"><xsl:value-of select="@OID"/></span>
      </h3>
      <xsl:if test="@def:CommentOID">
        <div class="meta"><b>Comment:</b><xsl:text> </xsl:text><xsl:call-template name="comment-ref"><xsl:with-param name="oid" select="@def:CommentOID"/></xsl:call-template></div>
      </xsl:if>
      <table>
        <thead>
          <tr>
            <th>Where</th><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Significant digits</th>
            <th>Display format</th><th>Controlled terms or format</th><th>Origin</th><th>Derivation / Comment</th>
            <th>Mandatory</th>
          </tr>
        </thead>
        <tbody>
          <xsl:for-each select="odm:ItemRef">
            <xsl:sort select="@OrderNumber" data-type="number"/>
            <xsl:variable name="itemdef" select="key('item', @ItemOID)"/>
            <tr>
              <td>
                <xsl:for-each select="def:WhereClauseRef">
                  <xsl:if test="position() &gt; 1"><xsl:text> </xsl:text><br/><xsl:text>or </xsl:text></xsl:if>
                  <xsl:apply-templates select="key('whereclause', @WhereClauseOID)"/>
                </xsl:for-each>
              </td>
              <td>
                <xsl:call-template name="item-name"><xsl:with-param name="itemdef" select="$itemdef"/></xsl:call-template>
                <xsl:call-template name="flags"/>
              </td>
              <xsl:call-template name="item-cells"><xsl:with-param name="itemdef" select="$itemdef"/></xsl:call-template>
              <td><xsl:value-of select="@Mandatory"/></td>
            </tr>
          </xsl:for-each>
        </tbody>
      </table>
    </section>
  </xsl:template>

  <!-- "LB.LBORRES": the dataset(s) and variable whose ItemDef points at this value list -->
  <xsl:template name="value-list-parent">
    <xsl:for-each select="key('item-by-valuelist', @OID)">
      <xsl:variable name="itemdef" select="."/>
      <xsl:if test="position() &gt; 1"><xsl:text>, </xsl:text></xsl:if>
      <xsl:for-each select="key('dataset-itemref', @OID)/..">
        <xsl:if test="position() &gt; 1"><xsl:text>, </xsl:text></xsl:if>
        <a href="#{@OID}"><xsl:value-of select="concat(@Name, '.', $itemdef/@Name)"/></a>
      </xsl:for-each>
    </xsl:for-each>
  </xsl:template>

  <!-- A where clause as "LBTESTCD EQ ALB and LBSPEC IN (BLOOD, SERUM)" -->
  <xsl:template match="def:WhereClauseDef">
    <xsl:for-each select="odm:RangeCheck">
      <xsl:if test="position() &gt; 1"><xsl:text> and </xsl:text></xsl:if>
      <xsl:variable name="target" select="key('item', @def:ItemOID)"/>
      <xsl:choose>
        <xsl:when test="$target"><xsl:value-of select="$target/@Name"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="@def:ItemOID"/></xsl:otherwise>
      </xsl:choose>
      <xsl:value-of select="concat(' ', @Comparator, ' ')"/>
      <xsl:choose>
        <xsl:when test="@Comparator = 'IN' or @Comparator = 'NOTIN'">
          <xsl:text>(</xsl:text>
          <xsl:for-each select="odm:CheckValue">
            <xsl:if test="position() &gt; 1"><xsl:text>, </xsl:text></xsl:if>
            <xsl:value-of select="."/>
          </xsl:for-each>
          <xsl:text>)</xsl:text>
        </xsl:when>
        <xsl:otherwise><xsl:value-of select="odm:CheckValue"/></xsl:otherwise>
      </xsl:choose>
    </xsl:for-each>
    <xsl:if test="@def:CommentOID">
      <xsl:text> </xsl:text><br/>
      <xsl:call-template name="comment-ref"><xsl:with-param name="oid" select="@def:CommentOID"/></xsl:call-template>
    </xsl:if>
  </xsl:template>

  <!-- ============================================================================== codelists -->
  <xsl:template match="odm:CodeList" mode="section">
    <section class="codelist" id="{@OID}">
      <h3>
        <xsl:value-of select="@Name"/>
        <xsl:text> </xsl:text>
        <span class="oid"><xsl:value-of select="@OID"/></span>
        <xsl:call-template name="flags"/>
      </h3>
      <p class="meta">
        <xsl:if test="odm:Alias[@Context = 'nci:ExtCodeID']">
          <span><b>NCI code:</b><xsl:text> </xsl:text><xsl:value-of select="odm:Alias[@Context = 'nci:ExtCodeID']/@Name"/></span>
        </xsl:if>
        <span><b>Data type:</b><xsl:text> </xsl:text><xsl:value-of select="@DataType"/></span>
        <xsl:if test="@SASFormatName">
          <span><b>SAS format:</b><xsl:text> </xsl:text><xsl:value-of select="@SASFormatName"/></span>
        </xsl:if>
        <xsl:if test="@def:StandardOID">
          <span><b>Standard:</b><xsl:text> </xsl:text><xsl:call-template name="standard-name"><xsl:with-param name="oid" select="@def:StandardOID"/></xsl:call-template></span>
        </xsl:if>
      </p>
      <xsl:if test="odm:Description">
        <p class="text"><xsl:call-template name="translated"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template></p>
      </xsl:if>
      <xsl:if test="@def:CommentOID">
        <div class="meta"><b>Comment:</b><xsl:text> </xsl:text><xsl:call-template name="comment-ref"><xsl:with-param name="oid" select="@def:CommentOID"/></xsl:call-template></div>
      </xsl:if>
      <table class="terms">
        <thead>
          <tr>
            <th>Coded value</th>
            <xsl:if test="odm:CodeListItem"><th>Decode</th></xsl:if>
            <th>NCI term code</th>
          </tr>
        </thead>
        <tbody>
          <xsl:for-each select="odm:CodeListItem | odm:EnumeratedItem">
            <tr>
              <td>
                <xsl:value-of select="@CodedValue"/>
                <xsl:if test="@def:ExtendedValue = 'Yes'"><xsl:text> *</xsl:text></xsl:if>
              </td>
              <xsl:if test="../odm:CodeListItem">
                <td><xsl:call-template name="translated"><xsl:with-param name="node" select="odm:Decode"/></xsl:call-template></td>
              </xsl:if>
              <td><xsl:value-of select="odm:Alias[@Context = 'nci:ExtCodeID']/@Name"/></td>
            </tr>
          </xsl:for-each>
        </tbody>
      </table>
      <xsl:if test="*[@def:ExtendedValue = 'Yes']">
        <p class="footnote">* Extended value: a term added by the sponsor to an extensible CDISC codelist.</p>
      </xsl:if>
    </section>
  </xsl:template>

  <!-- ================================================================= external dictionaries -->
  <xsl:template name="external-dictionaries">
    <xsl:if test="$external-codelists">
      <section id="dictionaries">
        <h2>External dictionaries</h2>
        <table>
          <thead>
            <tr><th>Codelist</th><th>Dictionary</th><th>Version</th><th>Reference</th><th>Data type</th></tr>
          </thead>
          <tbody>
            <xsl:for-each select="$external-codelists">
              <xsl:variable name="dictionary" select="odm:ExternalCodeList"/>
              <tr id="{@OID}">
                <td>
                  <xsl:value-of select="@Name"/>
                  <xsl:text> </xsl:text>
                  <span class="oid"><xsl:value-of select="@OID"/></span>
                </td>
                <td><xsl:value-of select="$dictionary/@Dictionary"/></td>
                <td><xsl:value-of select="$dictionary/@Version"/></td>
                <td>
                  <xsl:value-of select="$dictionary/@ref"/>
                  <xsl:if test="$dictionary/@href">
                    <xsl:if test="$dictionary/@ref"><xsl:text> </xsl:text><br/></xsl:if>
                    <xsl:call-template name="link">
                      <xsl:with-param name="href" select="$dictionary/@href"/>
                      <xsl:with-param name="text" select="$dictionary/@href"/>
                    </xsl:call-template>
                  </xsl:if>
                </td>
                <td><xsl:value-of select="@DataType"/></td>
              </tr>
            </xsl:for-each>
          </tbody>
        </table>
      </section>
    </xsl:if>
  </xsl:template>

  <!-- ================================================================================ methods -->
  <xsl:template name="methods">
    <xsl:if test="$mdv/odm:MethodDef">
      <section id="methods">
        <h2>Methods</h2>
        <table>
          <thead>
            <tr><th>Method</th><th>Name</th><th>Type</th><th>Description</th></tr>
          </thead>
          <tbody>
            <xsl:for-each select="$mdv/odm:MethodDef">
              <tr id="{@OID}">
                <td class="oid"><xsl:value-of select="@OID"/></td>
                <td><xsl:value-of select="@Name"/></td>
                <td><xsl:value-of select="@Type"/></td>
                <td>
                  <div class="text"><xsl:call-template name="translated"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template></div>
                  <xsl:for-each select="odm:FormalExpression">
                    <div><b><xsl:value-of select="@Context"/></b></div>
                    <pre><xsl:value-of select="."/></pre>
                  </xsl:for-each>
                  <xsl:for-each select="def:DocumentRef">
                    <div><xsl:apply-templates select="."/></div>
                  </xsl:for-each>
                </td>
              </tr>
            </xsl:for-each>
          </tbody>
        </table>
      </section>
    </xsl:if>
  </xsl:template>

  <!-- =============================================================================== comments -->
  <xsl:template name="comments">
    <xsl:if test="$mdv/def:CommentDef">
      <section id="comments">
        <h2>Comments</h2>
        <table>
          <thead>
            <tr><th>Comment</th><th>Description</th></tr>
          </thead>
          <tbody>
            <xsl:for-each select="$mdv/def:CommentDef">
              <tr id="{@OID}">
                <td class="oid"><xsl:value-of select="@OID"/></td>
                <td>
                  <div class="text"><xsl:call-template name="translated"><xsl:with-param name="node" select="odm:Description"/></xsl:call-template></div>
                  <xsl:for-each select="def:DocumentRef">
                    <div><xsl:apply-templates select="."/></div>
                  </xsl:for-each>
                </td>
              </tr>
            </xsl:for-each>
          </tbody>
        </table>
      </section>
    </xsl:if>
  </xsl:template>

  <!-- ============================================================================ references -->

  <!-- A CodeList reference: its name, linked to the codelist (or dictionary) anchor -->
  <xsl:template name="codelist-ref">
    <xsl:param name="oid"/>
    <xsl:if test="$oid">
      <xsl:variable name="codelist" select="key('codelist', $oid)"/>
      <a href="#{$oid}">
        <xsl:choose>
          <xsl:when test="$codelist/odm:ExternalCodeList">
            <xsl:value-of select="concat($codelist/odm:ExternalCodeList/@Dictionary, ' ', $codelist/odm:ExternalCodeList/@Version)"/>
          </xsl:when>
          <xsl:when test="$codelist"><xsl:value-of select="$codelist/@Name"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="$oid"/></xsl:otherwise>
        </xsl:choose>
      </a>
    </xsl:if>
  </xsl:template>

  <!-- A MethodDef reference: linked name and the method text inline -->
  <xsl:template name="method-ref">
    <xsl:param name="oid"/>
    <xsl:variable name="method" select="key('method', $oid)"/>
    <div>
      <a href="#{$oid}">
        <xsl:choose>
          <xsl:when test="$method"><xsl:value-of select="$method/@Name"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="$oid"/></xsl:otherwise>
        </xsl:choose>
      </a>
      <xsl:text> </xsl:text>
      <xsl:if test="$method/odm:Description">
        <div class="text"><xsl:call-template name="translated"><xsl:with-param name="node" select="$method/odm:Description"/></xsl:call-template></div>
      </xsl:if>
    </div>
  </xsl:template>

  <!-- A def:CommentDef reference: the comment text inline, linked to the comment anchor -->
  <xsl:template name="comment-ref">
    <xsl:param name="oid"/>
    <xsl:if test="$oid">
      <xsl:variable name="comment" select="key('comment', $oid)"/>
      <div>
        <span class="text"><xsl:call-template name="translated"><xsl:with-param name="node" select="$comment/odm:Description"/></xsl:call-template></span>
        <xsl:text> </xsl:text>
        <a class="oid" href="#{$oid}"><xsl:value-of select="$oid"/></a>
        <xsl:for-each select="$comment/def:DocumentRef">
          <xsl:text> </xsl:text><br/><xsl:apply-templates select="."/>
        </xsl:for-each>
      </div>
    </xsl:if>
  </xsl:template>

  <!-- def:DocumentRef: the linked document title, then its pages (def:PDFPageRef) -->
  <xsl:template match="def:DocumentRef">
    <xsl:variable name="leaf" select="key('leaf', @leafID)"/>
    <xsl:choose>
      <xsl:when test="$leaf">
        <xsl:call-template name="leaf-link"><xsl:with-param name="leaf" select="$leaf"/></xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="@leafID"/></xsl:otherwise>
    </xsl:choose>
    <xsl:for-each select="def:PDFPageRef">
      <xsl:if test="@Title"><xsl:value-of select="concat(' ', @Title)"/></xsl:if>
      <xsl:choose>
        <xsl:when test="@PageRefs">
          <xsl:text> [</xsl:text>
          <xsl:if test="@Type = 'PhysicalRef'"><xsl:text>page </xsl:text></xsl:if>
          <xsl:call-template name="page-links">
            <xsl:with-param name="pages" select="normalize-space(@PageRefs)"/>
            <xsl:with-param name="href" select="$leaf/@xlink:href"/>
            <xsl:with-param name="type" select="@Type"/>
          </xsl:call-template>
          <xsl:text>]</xsl:text>
        </xsl:when>
        <xsl:when test="@FirstPage">
          <xsl:text> [pages </xsl:text>
          <xsl:call-template name="link">
            <xsl:with-param name="href" select="concat($leaf/@xlink:href, '#page=', @FirstPage)"/>
            <xsl:with-param name="text" select="concat(@FirstPage, '-', @LastPage)"/>
          </xsl:call-template>
          <xsl:text>]</xsl:text>
        </xsl:when>
      </xsl:choose>
    </xsl:for-each>
  </xsl:template>

  <!-- The space-separated PageRefs, each a link: "#page=N" (PhysicalRef) or "#name" (NamedDestination) -->
  <xsl:template name="page-links">
    <xsl:param name="pages"/>
    <xsl:param name="href"/>
    <xsl:param name="type"/>
    <xsl:variable name="first">
      <xsl:choose>
        <xsl:when test="contains($pages, ' ')"><xsl:value-of select="substring-before($pages, ' ')"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$pages"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="fragment">
      <xsl:if test="$type = 'PhysicalRef'">page=</xsl:if>
      <xsl:value-of select="$first"/>
    </xsl:variable>
    <xsl:call-template name="link">
      <xsl:with-param name="href" select="concat($href, '#', $fragment)"/>
      <xsl:with-param name="text" select="$first"/>
    </xsl:call-template>
    <xsl:if test="contains($pages, ' ')">
      <xsl:text>, </xsl:text>
      <xsl:call-template name="page-links">
        <xsl:with-param name="pages" select="substring-after($pages, ' ')"/>
        <xsl:with-param name="href" select="$href"/>
        <xsl:with-param name="type" select="$type"/>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>

  <!-- A def:leaf as a link to its file, titled by def:title (else the file name) -->
  <xsl:template name="leaf-link">
    <xsl:param name="leaf"/>
    <xsl:call-template name="link">
      <xsl:with-param name="href" select="$leaf/@xlink:href"/>
      <xsl:with-param name="text">
        <xsl:choose>
          <xsl:when test="normalize-space($leaf/def:title)"><xsl:value-of select="normalize-space($leaf/def:title)"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="$leaf/@xlink:href"/></xsl:otherwise>
        </xsl:choose>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <!-- A link to a document; a script URL (javascript:, vbscript:, data:) is shown as text, never linked -->
  <xsl:template name="link">
    <xsl:param name="href"/>
    <xsl:param name="text"/>
    <!-- browsers drop tabs and line breaks anywhere in a URL, so they must not hide the scheme either -->
    <xsl:variable name="scheme" select="translate(substring-before(translate($href, '&#9;&#10;&#13; ', ''), ':'), $upper, $lower)"/>
    <xsl:choose>
      <xsl:when test="not(normalize-space($href)) or $scheme = 'javascript' or $scheme = 'vbscript' or $scheme = 'data'">
        <xsl:value-of select="$text"/>
      </xsl:when>
      <xsl:otherwise><a href="{$href}"><xsl:value-of select="$text"/></a></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The English (or language-neutral, else the first) TranslatedText of a Description or Decode -->
  <xsl:template name="translated">
    <xsl:param name="node"/>
    <xsl:variable name="english" select="$node/odm:TranslatedText[lang('en') or not(@xml:lang)]"/>
    <xsl:choose>
      <xsl:when test="$english"><xsl:value-of select="$english[1]"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$node/odm:TranslatedText[1]"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
